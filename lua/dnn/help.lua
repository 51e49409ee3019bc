-- dnn.help: one-line signatures and descriptions of the dnn API.
--
--   help(dnn.zeros)    help("zeros")    help("Tensor:sum")    help(t)    help()
--   dnn.help(x)        the same, from a stock lua5.4 (the module is callable)
--   dnn.help.text(x)   the text help would print
--   dnn.help.add(name, sig, doc[, section])   documents a new function
--
-- Entries are named "dnn.zeros", "dnn.io.read_idx", "Tensor:sum" (methods)
-- and "Tensor.shape" (fields).  Every tensor method is also a dnn function
-- (dnn.sum(t) == t:sum()), so "dnn.sum" finds "Tensor:sum".
local help = {}

local entries = {}  -- name -> {sig=, doc=, section=}
local sections = {} -- {title=, names={...}} in the order they are declared
help.entries = entries
help.sections = sections

local current
local function section(title)
  for _, s in ipairs(sections) do
    if s.title == title then
      current = s
      return
    end
  end
  current = { title = title, names = {} }
  sections[#sections + 1] = current
end

-- Adds (or replaces) an entry; other modules document themselves with this.
function help.add(name, sig, doc, section_title)
  assert(type(name) == "string" and type(sig) == "string" and type(doc) == "string",
    "help.add(name, sig, doc[, section]): strings expected")
  if section_title then section(section_title) end
  if not entries[name] then current.names[#current.names + 1] = name end
  entries[name] = { sig = sig, doc = doc, section = current.title }
end
local add = help.add

-- Methods: "Tensor:name" with the signature written as t:name(...).
local function method(name, args, doc)
  add("Tensor:" .. name, "t:" .. name .. "(" .. args .. ")", doc)
end

-- ---------------------------------------------------------------- creation
section "Creating tensors"
add("dnn.tensor", "dnn.tensor(data, {dtype=})",
  "Tensor from a number, boolean, nested table (rectangular) or tensor (copied); dtype defaults to float32 for floats, int64 for integers, bool for booleans.")
add("dnn.zeros", "dnn.zeros(size..., {dtype=})", "Tensor of zeros; size as integers or a table.")
add("dnn.ones", "dnn.ones(size..., {dtype=})", "Tensor of ones; size as integers or a table.")
add("dnn.empty", "dnn.empty(size..., {dtype=})", "Uninitialised tensor (arbitrary contents); size as integers or a table.")
add("dnn.full", "dnn.full(size, value, {dtype=})",
  "Tensor filled with value; size is a table: dnn.full({2, 3}, 7). dtype follows value (bool, int64, float32).")
add("dnn.zeros_like", "dnn.zeros_like(t, {dtype=})", "Zeros with t's shape, dtype and device.")
add("dnn.ones_like", "dnn.ones_like(t, {dtype=})", "Ones with t's shape, dtype and device.")
add("dnn.empty_like", "dnn.empty_like(t, {dtype=})", "Uninitialised tensor with t's shape, dtype and device.")
add("dnn.full_like", "dnn.full_like(t, value, {dtype=})", "Tensor of value with t's shape, dtype and device.")
add("dnn.rand_like", "dnn.rand_like(t, {dtype=})", "Uniform [0, 1) values with t's shape.")
add("dnn.randn_like", "dnn.randn_like(t, {dtype=})", "Standard normal values with t's shape.")
add("dnn.arange", "dnn.arange([start,] stop[, step], {dtype=})",
  "Values start, start+step, ... below stop (stop excluded); int64 when all arguments are integers, else float32.")
add("dnn.linspace", "dnn.linspace(start, stop, steps, {dtype=})", "steps evenly spaced values from start to stop, both included.")
add("dnn.eye", "dnn.eye(n[, m], {dtype=})", "Identity matrix of n rows and m (default n) columns.")

section "Random numbers"
add("dnn.rand", "dnn.rand(size..., {dtype=})", "Uniform random values in [0, 1).")
add("dnn.randn", "dnn.randn(size..., {dtype=})", "Standard normal random values (mean 0, std 1).")
add("dnn.randint", "dnn.randint([low,] high, size, {dtype=})",
  "Random integers in [low, high) (low defaults to 0); size is a table; int64 by default.")
add("dnn.randperm", "dnn.randperm(n)", "A random permutation of 1..n (int64).")
add("dnn.bernoulli", "dnn.bernoulli(probs) or dnn.bernoulli(p, size, {dtype=})",
  "1 with probability probs[i] (or p), else 0; t:bernoulli() is the same.")
add("dnn.manual_seed", "dnn.manual_seed(seed)", "Seeds the random generator (integer): the same seed gives the same numbers.")
add("dnn.get_rng_state", "dnn.get_rng_state()", "The generator state as a 16-byte uint8 tensor (save it to resume a run).")
add("dnn.set_rng_state", "dnn.set_rng_state(state)", "Restores a state returned by get_rng_state.")
method("uniform_", "[a=0, b=1]", "Fills t in place with uniform values in [a, b); returns t.")
method("normal_", "[mean=0, std=1]", "Fills t in place with normal values; returns t.")
method("bernoulli_", "[p=0.5]", "Fills t in place with 1 (probability p) or 0; returns t.")
method("random_", "[low,] high", "Fills t in place with integers in [low, high) (low defaults to 0); returns t.")
method("bernoulli", "", "A new tensor: 1 with probability t[i], else 0 (t holds probabilities).")

-- ---------------------------------------------------------------- properties
section "Tensor properties"
add("Tensor.shape", "t.shape", "The shape as a dnn.Size (prints as [2, 3]); same as t:size().")
add("Tensor.dtype", "t.dtype", 'The element type: "float32", "float64", "int32", "int64", "uint8" or "bool".')
add("Tensor.ndim", "t.ndim", "The number of dims; same as t:dim().")
add("Tensor.device", "t.device", 'Where the data lives: "cpu" or "cuda:N".')
add("Tensor.T", "t.T", "t with its dims reversed (a view): the transpose of a matrix.")
method("size", "[dim]", "The shape as a dnn.Size, or the size of one dim (1-based, negatives from the end).")
method("stride", "[dim]", "Strides in elements, as a table, or the stride of one dim.")
method("dim", "", "The number of dims.")
method("ndimension", "", "The number of dims (Torch7 name of t:dim()).")
method("numel", "", "The number of elements.")
method("nelement", "", "The number of elements (Torch7 name of t:numel()).")
method("is_contiguous", "", "Whether the elements are laid out row-major without gaps.")
method("storage_offset", "", "Where t starts in its storage, in elements (0-based, as in PyTorch).")
method("get_dtype", "", "The dtype name, same as t.dtype.")
method("is_floating_point", "", "Whether the dtype is float32 or float64.")
method("item", "", "The value of a one-element tensor as a Lua number or boolean.")
method("totable", "", "The values as nested Lua tables (a number for a 0-d tensor).")
method("tolist", "", "Same as t:totable() (PyTorch name).")
method("type", '[dtype]', 'With no argument the Torch7 type name ("dnn.FloatTensor"); with a dtype, a converted copy.')
method("close", "", "Frees t's memory now instead of at garbage collection (also `local t <close> = ...`).")
method("is_tensor", "", "true; dnn.is_tensor(v) tells whether any value is a tensor.")
method("is_same_size", "other", "Whether t and other have the same shape.")
method("equal", "other", "Whether other is a tensor of the same shape and values (NaN never equals).")
method("allclose", "other, {rtol=1e-5, atol=1e-8}", "Whether |t - other| <= atol + rtol * |other| everywhere.")

-- ---------------------------------------------------------------- views
section "Views and shapes"
method("view", "size...", "A view with a new shape (same number of elements, one size may be -1); t must be contiguous.")
method("view_as", "other", "t viewed with other's shape.")
method("reshape", "size...", "Like view, but copies when t is not contiguous; one size may be -1.")
method("reshape_as", "other", "t reshaped to other's shape.")
method("flatten", "[start=1, end=-1]", "Merges dims start..end (1-based) into one.")
method("permute", "dims...", "A view with the dims reordered: t:permute(2, 1) or t:permute{3, 1, 2}.")
method("transpose", "dim1, dim2", "A view with two dims swapped (a matrix's two dims when none are given).")
method("t", "", "The transpose of a matrix (a view); a vector is returned as is.")
method("narrow", "dim, start, length", "A view of length positions from start (1-based) along dim.")
method("select", "dim, index", "A view of position index (1-based, -1 the last) along dim, that dim removed.")
method("squeeze", "[dim]", "Removes dims of size 1 (all of them, or only dim).")
method("unsqueeze", "dim", "Inserts a dim of size 1 at position dim (1-based; -1 appends).")
method("expand", "size...", "A view repeating size-1 dims to the given sizes without copying (-1 keeps a size).")
method("expand_as", "other", "t expanded to other's shape.")
method("contiguous", "", "t itself if contiguous, else a contiguous copy.")
method("clone", "", "A copy with its own storage.")
method("flip", "dims...", "A copy with the order of positions reversed along the given dims: t:flip(1) or t:flip{1, 2}.")
add("indexing", "t[i], t[{i, j}], t[{{a, b}, j}], t[mask], t[idx]",
  "Torch7-style 1-based indexing: t[i] is row i (a view; a number for a 1-d tensor); t[{2, 3}] an element; " ..
  "t[{{2, 4}, 3}] rows 2..4 of column 3 ({} a whole dim, {a, b, step}, negatives from the end); a bool tensor " ..
  "masks, an integer tensor selects rows. The same forms assign: t[{{}, 1}] = 0.")

-- ---------------------------------------------------------------- dtypes
section "Types and copies"
add("dtypes", 'dtype = "float32" | "float64" | "int32" | "int64" | "uint8" | "bool" | "float16" | "bfloat16"',
  "Element types; creation functions take {dtype=}. float32 is the default for real values, int64 for integers. " ..
  "float16 (\"half\") and bfloat16 are storage types: ops compute in float32 and round the result.")
method("float", "", "A float32 copy (t itself if already float32).")
method("double", "", "A float64 copy.")
method("int", "", "An int32 copy.")
method("long", "", "An int64 copy.")
method("byte", "", "A uint8 copy.")
method("bool", "", "A bool copy (non-zero is true).")
method("half", "", "A float16 copy (round to nearest even; 65520 and beyond become Inf); the same as t:float16().")
method("float16", "", "A float16 copy; the same as t:half().")
method("bfloat16", "", "A bfloat16 copy (float32's range, 8 bits of precision; round to nearest even).")
method("to", 'dtype | device | other | {dtype=, device=}', 'A copy converted to a dtype ("float64"), a device ("cpu") or other\'s dtype.')
method("fill_", "value", "Sets every element to value (number, boolean or one-element tensor); returns t.")
method("zero_", "", "Sets every element to 0; returns t.")
method("copy_", "src", "Copies src's values into t (src broadcast to t's shape); returns t.")

-- ---------------------------------------------------------------- math
section "Elementwise math"
local BINARY = {
  add = { "other, {alpha=1}", "t + alpha * other, broadcasting (other a tensor or number); also t + other." },
  sub = { "other, {alpha=1}", "t - alpha * other, broadcasting; also t - other." },
  mul = { "other", "Elementwise product, broadcasting; also t * other." },
  div = { "other", "Elementwise true division (float result), broadcasting; also t / other." },
  pow = { "exponent", "t to the power exponent (tensor or number); also t ^ e." },
  maximum = { "other", "Elementwise larger of t and other." },
  minimum = { "other", "Elementwise smaller of t and other." },
  fmod = { "other", "Remainder with the sign of t (C fmod)." },
  remainder = { "other", "Remainder with the sign of other (Python %); also t % other." },
  atan2 = { "other", "Elementwise atan2(t, other), in radians." },
  floor_divide = { "other", "Floor of t / other; integers stay integers; also t // other." },
}
for _, name in ipairs { "add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmod", "remainder", "atan2", "floor_divide" } do
  method(name, BINARY[name][1], BINARY[name][2])
end
for _, name in ipairs { "add", "sub", "mul", "div", "pow", "fmod", "remainder", "maximum", "minimum" } do
  method(name .. "_", BINARY[name][1], "In place: t = t:" .. name .. "(...); returns t.")
end
local UNARY = {
  neg = "-t", abs = "|t|", exp = "e^t", log = "Natural log", log1p = "log(1 + t), exact for small t",
  expm1 = "e^t - 1, exact for small t", sqrt = "Square root", rsqrt = "1 / sqrt(t)", sin = "Sine",
  cos = "Cosine", tan = "Tangent", tanh = "Hyperbolic tangent", sigmoid = "1 / (1 + e^-t)",
  relu = "max(t, 0)", sign = "-1, 0 or 1", floor = "Round down", ceil = "Round up",
  round = "Round to nearest (half to even)", trunc = "Round toward zero", reciprocal = "1 / t",
  square = "t * t", erf = "Error function", log2 = "Base-2 log", log10 = "Base-10 log",
  asin = "Arcsine", acos = "Arccosine", atan = "Arctangent", sinh = "Hyperbolic sine",
  cosh = "Hyperbolic cosine",
}
for _, name in ipairs { "neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan",
  "tanh", "sigmoid", "relu", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square", "erf", "log2",
  "log10", "asin", "acos", "atan", "sinh", "cosh" } do
  method(name, "", UNARY[name] .. ", elementwise.")
  method(name .. "_", "", UNARY[name] .. ", in place; returns t.")
end
method("negative", "", "-t, elementwise (same as t:neg()).")
method("clamp", "min, max or {min=, max=}", "Limits values to [min, max]; either bound may be nil.")
method("clip", "min, max or {min=, max=}", "Same as t:clamp (Keras/NumPy name).")
method("clamp_", "min, max or {min=, max=}", "t:clamp in place; returns t.")
method("clip_", "min, max or {min=, max=}", "t:clamp in place; returns t.")
add("dnn.where", "dnn.where(cond, a, b)", "a where cond holds, else b (a, b tensors or numbers, broadcasting).")
method("where", "cond, other", "t where cond holds, else other.")

section "Comparisons and logic"
for _, op in ipairs { { "eq", "==" }, { "ne", "~=" }, { "lt", "<" }, { "le", "<=" }, { "gt", ">" }, { "ge", ">=" } } do
  method(op[1], "other", "Bool tensor of t " .. op[2] .. " other, elementwise, broadcasting.")
end
method("logical_and", "other", "Bool tensor: both non-zero.")
method("logical_or", "other", "Bool tensor: either non-zero.")
method("logical_xor", "other", "Bool tensor: exactly one non-zero.")
method("logical_not", "", "Bool tensor: t is zero.")
method("isnan", "", "Bool tensor: where t is NaN.")
method("isinf", "", "Bool tensor: where t is +inf or -inf.")

-- ---------------------------------------------------------------- reductions
section "Reductions"
local DIMS = "[dims][, keepdim] or {dim=, keepdim=}"
method("sum", DIMS, "Sum of all elements (a 0-d tensor), or over the given 1-based dims: t:sum(2), t:sum{1, 2}.")
method("mean", DIMS, "Mean of all elements or over the given dims.")
method("prod", DIMS, "Product of all elements or over the given dims.")
method("all", DIMS, "Whether every element is non-zero (bool), overall or over dims.")
method("any", DIMS, "Whether some element is non-zero (bool), overall or over dims.")
method("logsumexp", DIMS, "log(sum(exp(t))) computed stably, overall or over dims.")
method("max", "[dim[, keepdim]] or other",
  "Overall maximum (0-d); with a dim, values and 1-based indices; with a tensor, the elementwise maximum.")
method("min", "[dim[, keepdim]] or other",
  "Overall minimum (0-d); with a dim, values and 1-based indices; with a tensor, the elementwise minimum.")
method("amax", DIMS, "Maximum values over dims (no indices).")
method("amin", DIMS, "Minimum values over dims (no indices).")
method("argmax", "[dim[, keepdim]]", "1-based position of the maximum, overall (flat) or along dim.")
method("argmin", "[dim[, keepdim]]", "1-based position of the minimum, overall (flat) or along dim.")
method("var", DIMS .. ", {correction=1}", "Variance (unbiased by default; {unbiased=false} or {correction=0} for the population one).")
method("std", DIMS .. ", {correction=1}", "Standard deviation (unbiased by default).")
method("cumsum", "dim", "Running sum along dim.")
method("cumprod", "dim", "Running product along dim.")
method("classes", "", "Predictions to 0-based class ids: argmax over the last dim, or > 0.5 for one sigmoid column.")

-- ---------------------------------------------------------------- matmul
section "Matrix products"
method("matmul", "other", "Matrix product with broadcasting batch dims (1-d operands act as vectors).")
method("mm", "other", "Product of two matrices: (n, k) x (k, m) -> (n, m).")
method("bmm", "other", "Batched product: (b, n, k) x (b, k, m) -> (b, n, m).")
method("dot", "other", "Dot product of two 1-d tensors (0-d result).")
method("mv", "vec", "Matrix times vector: (n, m) x (m) -> (n).")
method("outer", "other", "Outer product of two 1-d tensors: (n) x (m) -> (n, m).")
method("addmm", "a, b, {beta=1, alpha=1}", "beta * t + alpha * (a @ b); also dnn.addmm(c, a, b, {...}).")

-- ---------------------------------------------------------------- indexing ops
section "Indexing, joining and sorting"
method("gather", "dim, index", "Values at the 1-based positions index along dim: out[i][j] = t[i][index[i][j]] for dim 2.")
method("scatter", "dim, index, src", "A copy of t with src (tensor or number) written at the 1-based positions index along dim.")
method("scatter_", "dim, index, src", "t:scatter in place; returns t.")
method("scatter_add", "dim, index, src", "A copy of t with src's values added at the 1-based positions index along dim.")
method("scatter_add_", "dim, index, src", "t:scatter_add in place; returns t.")
method("index_select", "dim, index", "The slices at the 1-based positions index (1-d integer tensor) along dim.")
method("index_add", "dim, index, src", "A copy of t with src's slices added at the 1-based positions index along dim.")
method("index_add_", "dim, index, src", "t:index_add in place; returns t.")
method("index_fill", "dim, index, value", "A copy of t with the slices at positions index along dim set to value.")
method("masked_fill", "mask, value", "A copy of t with value where the bool mask (broadcast to t) is true.")
method("masked_fill_", "mask, value", "t:masked_fill in place; returns t.")
method("masked_select", "mask", "1-d tensor of the elements where the bool mask is true (row-major order).")
method("masked_scatter", "mask, source", "A copy of t with the masked positions taken from source's elements, in order.")
method("masked_scatter_", "mask, source", "t:masked_scatter in place; returns t.")
method("nonzero", "", "int64 (n, ndim) tensor of the 1-based coordinates of the non-zero elements.")
method("take", "index", "Elements at 1-based flat positions index (t treated as 1-d).")
add("dnn.cat", "dnn.cat(tensors[, dim=1]) or a:cat(b[, dim])",
  "Joins tensors along an existing dim (also dnn.cat{a, b, dim=2}); the other dims must match.")
add("dnn.concat", "dnn.concat(tensors[, dim=1])", "Same as dnn.cat (Keras name).")
add("dnn.concatenate", "dnn.concatenate(tensors[, dim=1])", "Same as dnn.cat (NumPy name).")
add("dnn.stack", "dnn.stack(tensors[, dim=1]) or a:stack(b[, dim])", "Joins same-shaped tensors along a new dim.")
method("split", "size_or_sizes[, dim=1]",
  "A list of views of size positions each along dim (the last may be shorter), or of the listed sizes: t:split({2, 3}).")
method("chunk", "n[, dim=1]", "A list of at most n views of ceil(size / n) positions along dim.")
method("unbind", "[dim=1]", "A list of the slices along dim, that dim removed.")
method("sort", "[dim=-1[, descending=false]] or {dim=, descending=}", "Sorted values and their 1-based positions along dim (a stable sort).")
method("argsort", "[dim=-1[, descending=false]] or {dim=, descending=}", "The 1-based positions that sort t along dim.")
method("topk", "k[, dim=-1[, largest=true]] or {k, dim=, largest=}", "The k largest (or smallest) values along dim, sorted, and their 1-based positions.")
method("bincount", "[weights[, minlength=0]] or {weights=, minlength=}",
  "Counts (or summed weights) of each value of a 1-d tensor of non-negative integers; value v is at position v + 1.")
method("unique", "{return_inverse=false, return_counts=false}",
  "The distinct values, sorted; then the 1-based position of each element in them, and the counts, when asked.")
add("dnn.one_hot", "dnn.one_hot(labels[, num_classes], {dtype=})",
  "One-hot rows for 0-based class ids: shape labels.shape .. {num_classes}; also labels:one_hot(n).")
method("one_hot", "[num_classes], {dtype=}", "One-hot rows for t's 0-based class ids.")
method("repeat", "times...", "A copy with t repeated along each dim.")

-- ---------------------------------------------------------------- io
section "Autograd"
add("Tensor:backward", "t:backward([grad], {retain_graph=false})",
  "Accumulates d(t)/d(leaf) into each leaf's .grad; grad defaults to 1 for a one-element t.")
add("Tensor:requires_grad_", "t:requires_grad_(on=true)", "Makes a float leaf tensor record operations (t.requires_grad = true does the same).")
add("Tensor:detach", "t:detach()", "The same data outside the graph (no grad_fn, requires_grad false).")
add("dnn.grad", "dnn.grad(outputs, inputs, {grad_outputs=, retain_graph=, allow_unused=})",
  "Gradients of outputs w.r.t. inputs without touching .grad: a tensor for one input, else a list.")
add("dnn.is_grad_enabled", "dnn.is_grad_enabled()", "Whether operations are recorded for autograd now.")
add("dnn.set_grad_enabled", "dnn.set_grad_enabled(on)", "Turns recording on or off; returns the previous mode.")
add("dnn.no_grad", "dnn.no_grad(fn, ...) / local _ <close> = dnn.no_grad()",
  "Runs fn (or the rest of the scope) without recording for autograd.")
add("dnn.enable_grad", "dnn.enable_grad(fn, ...) / local _ <close> = dnn.enable_grad()", "Turns recording back on inside a no_grad scope.")
add("dnn.GradientTape", "dnn.GradientTape{persistent=false}",
  "Keras-style tape: tape:gradient(loss, sources) gives the gradients (nil for unused sources); tape:watch(t).")
add("dnn.testing", "dnn.testing", "Test helpers: dnn.testing.gradcheck(fn, inputs, {eps=, atol=, rtol=}).")

section "Files and datasets"
add("dnn.io", "dnn.io", "Readers and writers of data files: help(dnn.io) lists them.")
add("dnn.io.read_idx", "dnn.io.read_idx(path)",
  "Reads an IDX file (MNIST format), plain or gzipped, into a tensor of its stored type (uint8, int32, float32, float64).")
add("dnn.io.write_idx", "dnn.io.write_idx(path, t)",
  "Writes a uint8, int32, float32 or float64 tensor as a plain IDX file (atomically: temp file + rename).")
add("dnn.datasets", "dnn.datasets", "Standard datasets from their Debian packages: help(dnn.datasets) lists them.")
add("dnn.datasets.fashion_mnist", "dnn.datasets.fashion_mnist([dir], {limit=})",
  "Fashion-MNIST: {train={x=uint8 [60000,28,28], y=int64 [60000]}, test={...}, class_names=}; labels are 0-based.")

-- layers, losses, optimizers, data
require("dnn.help_training")(add, section)
require("dnn.help_data")(add, section)

-- ---------------------------------------------------------------- system
section "Runtime"
add("dnn.set_num_threads", "dnn.set_num_threads(n)", "Number of CPU threads the kernels use (n >= 1).")
add("dnn.get_num_threads", "dnn.get_num_threads()", "Number of CPU threads the kernels use.")
add("dnn.memory_stats", "dnn.memory_stats()",
  "{live_tensors, live_storages, allocated_bytes, peak_bytes, total_allocations, lua_bytes}: what is allocated now.")
add("dnn.is_tensor", "dnn.is_tensor(v)", "Whether v is a tensor.")
add("dnn.blas_core", "dnn.blas_core()", "The OpenBLAS kernels matmul uses (\"SkylakeX\", \"Haswell\", ...); set OPENBLAS_CORETYPE to override.")
add("dnn.isatty", "dnn.isatty(fd=1)", "Whether a file descriptor (1 = stdout) is a terminal.")
add("dnn.monotonic", "dnn.monotonic()", "Seconds from a monotonic clock, for timing (os.clock counts CPU time instead).")
add("dnn.version", "dnn.version", "The dnnlua version string.")
add("dnn.built_with_cuda", "dnn.built_with_cuda", "Whether this build has the CUDA backend.")
add("dnn.help", "help(obj) or ?name", "Signature and description of a dnn function, method or name; help(t) describes a tensor.")
add("dnn.Tensor", "dnn.Tensor", "The tensor metatable; methods are in dnn.methods (help(\"Tensor\") lists them).")
add("dnn.methods", "dnn.methods", "The table of tensor methods: t:name(...) looks here; every method is also dnn.name(t, ...).")
add("dnn.Size", "dnn.Size", "The metatable of shapes returned by t:size() / t.shape (print as [2, 3], compare by value).")
add("dnn.core", "dnn.core", "The C half of dnn (src/lua); everything in it is also in dnn.")
add("calls", "f(a, b, {key=v}) or f{a, b, key=v}",
  "Keras keyword arguments go in one options table last; both spellings work everywhere. Dims and positions are 1-based, negatives count from the end.")

-- ======================================================== lookup and text

local LUA_MANUAL = "https://www.lua.org/manual/5.4/manual.html#pdf-"
local STDLIBS = { "string", "table", "math", "io", "os", "coroutine", "utf8", "debug", "package" }

local function short_name(name) return name:match("[%.:]([^%.:]+)$") or name end

-- Tables of dnn not searched for names: the C core (its functions are also
-- in dnn), the methods (named Tensor:x instead) and help's own tables.
local NO_WALK = { core = true, methods = true, Tensor = true, Size = true, help = true }

-- Where each function value lives: fn -> list of names ("dnn.zeros", "Tensor:add").
local function value_names()
  local dnn = package.loaded.dnn
  local names = {}
  local function note(v, name)
    local l = names[v]
    if not l then
      l = {}
      names[v] = l
    end
    l[#l + 1] = name
  end
  local seen = {}
  local function walk(t, prefix, depth)
    if seen[t] or depth > 3 then return end
    seen[t] = true
    local keys = {}
    for k in pairs(t) do
      if type(k) == "string" then keys[#keys + 1] = k end
    end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = rawget(t, k)
      if type(v) == "function" then
        note(v, prefix .. k)
      elseif type(v) == "table" then
        note(v, prefix .. k)
        if not NO_WALK[k] then walk(v, prefix .. k .. ".", depth + 1) end
      end
    end
  end
  if type(dnn) == "table" then
    note(dnn, "dnn")
    local methods = dnn.core and dnn.core.methods
    if methods then
      for k, v in pairs(methods) do note(v, "Tensor:" .. k) end
      note(methods, "Tensor")
    end
    walk(dnn, "dnn.", 1)
  end
  return names
end

-- A standard Lua function's name ("print", "string.format"), or nil.
local function stdlib_name(v)
  for k, x in pairs(_G) do
    if x == v and type(k) == "string" then return k end
  end
  for _, lib in ipairs(STDLIBS) do
    local t = rawget(_G, lib)
    if type(t) == "table" then
      for k, x in pairs(t) do
        if x == v then return lib .. "." .. k end
      end
    end
  end
end

-- The value at a dotted path of globals ("string.format"), without metamethods.
local function global_path(name)
  if not name:match("^[%a_][%w_]*[%w_%.]*$") then return nil end
  local v = _G
  for part in name:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    v = rawget(v, part)
  end
  if v == _G then return nil end
  return v
end

local function is_tensor(v)
  local dnn = package.loaded.dnn
  return type(dnn) == "table" and dnn.is_tensor and dnn.is_tensor(v)
end

-- The entry names a name refers to, best first.
function help.resolve(name)
  name = name:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%(%)$", "")
  if entries[name] then return { name } end
  local n = name:gsub("^dnn%.Tensor", "Tensor")
  -- t:sum, x.shape: a method or field of some tensor
  local obj, sep, field = n:match("^([%a_][%w_]*)([%.:])([%a_][%w_]*)$")
  if obj and obj ~= "dnn" then
    if entries["Tensor:" .. field] then return { "Tensor:" .. field } end
    if entries["Tensor." .. field] then return { "Tensor." .. field } end
  end
  if entries[n] then return { n } end
  -- a:cat(b) is dnn.cat: methods that are documented as functions
  local tmember = n:match("^Tensor[%.:]([%a_][%w_]*)$")
  if tmember and entries["dnn." .. tmember] then return { "dnn." .. tmember } end
  local member = n:match("^dnn%.([%a_][%w_]*)$")
  if member and entries["Tensor:" .. member] then return { "Tensor:" .. member } end
  if not n:find("[%.:]") then
    local found = {}
    for _, key in ipairs { "dnn." .. n, "Tensor:" .. n, "Tensor." .. n } do
      if entries[key] then found[#found + 1] = key end
    end
    if #found == 0 then
      for key in pairs(entries) do
        if short_name(key) == n then found[#found + 1] = key end
      end
      table.sort(found)
    end
    return found
  end
  -- dnn.read_idx is the C function behind dnn.io.read_idx: same short name
  if member then
    local found = {}
    for key in pairs(entries) do
      if key:match("^dnn%.") and short_name(key) == member then found[#found + 1] = key end
    end
    table.sort(found)
    return found
  end
  return {}
end

-- Edits (insert, delete, change, swap two neighbours) from a to b.
local function edit_distance(a, b)
  if math.abs(#a - #b) > 3 then return 99 end
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        d[i][j] = math.min(d[i][j], d[i - 2][j - 2] + 1)
      end
    end
  end
  return d[#a][#b]
end

-- Entry names close to a misspelt name.
function help.suggest(name, max)
  max = max or 6
  local want = short_name(name):lower()
  local scored = {}
  for key in pairs(entries) do
    local s = short_name(key):lower()
    local d = edit_distance(want, s)
    if #want >= 3 and s:find(want, 1, true) then d = math.min(d, 1) end
    if d <= (#want <= 3 and 1 or 2) then scored[#scored + 1] = { key, d } end
  end
  table.sort(scored, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  local out = {}
  for i = 1, math.min(max, #scored) do out[i] = scored[i][1] end
  return out
end

local function entry_text(key)
  local e = entries[key]
  local lines = { e.sig }
  local m = key:match("^Tensor:(.*)$")
  local dnn = package.loaded.dnn
  if m and type(dnn) == "table" and dnn[m] ~= nil and dnn.core and dnn[m] == dnn.core.methods[m] then
    lines[1] = lines[1] .. "    (also dnn." .. m .. "(t, ...))"
  end
  lines[#lines + 1] = "  " .. e.doc
  return table.concat(lines, "\n")
end

local function list_text(title, names)
  local lines = { title }
  local width = 0
  for _, n in ipairs(names) do width = math.max(width, #entries[n].sig) end
  width = math.min(width, 44)
  for _, n in ipairs(names) do
    local e = entries[n]
    local doc = e.doc:match("^(.-%.)%s") or e.doc
    lines[#lines + 1] = string.format("  %-" .. width .. "s  %s", e.sig, doc)
  end
  return table.concat(lines, "\n")
end

-- Entries under a prefix ("dnn.io.", "Tensor:").
local function names_under(prefix)
  local out = {}
  for key in pairs(entries) do
    if key:sub(1, #prefix) == prefix and not key:find("[%.:]", #prefix + 1) then out[#out + 1] = key end
  end
  table.sort(out)
  return out
end

local OVERVIEW = [[
dnnlua help
  help(dnn.zeros)  or  ?dnn.zeros     signature and description of a function
  help("sum")      or  ? sum          by name: dnn functions and tensor methods
  help(t)                             what a tensor is: dtype, shape, device
  help(dnn)                           the dnn API by topic
  help("Tensor")                      every tensor method
  help("indexing"), help("calls")     slicing t[{{2, 4}, 3}]; f(a, {key=v}) vs f{a, key=v}
In the REPL: Tab completes names (dnn.ze<Tab>, t:ad<Tab>), Ctrl-C interrupts a
running statement, Ctrl-D exits.]]

-- Words joined by ", " in lines of at most width characters.
local function wrap(words, indent, width)
  local lines, line = {}, indent
  for i, w in ipairs(words) do
    local piece = w .. (i < #words and "," or "")
    if #line + #piece + 1 > width and line ~= indent then
      lines[#lines + 1] = line
      line = indent
    end
    line = line .. (line == indent and "" or " ") .. piece
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

local function overview_by_section()
  local parts = { "The dnn API by topic (help(\"name\") for one; in-place forms end in _):" }
  for _, s in ipairs(sections) do
    local shown, seen = {}, {}
    for _, n in ipairs(s.names) do
      local short = short_name(n)
      if not seen[short] and not (n:match("_$") and entries[n:sub(1, -2)]) then
        seen[short] = true
        shown[#shown + 1] = short
      end
    end
    parts[#parts + 1] = s.title .. ":"
    parts[#parts + 1] = wrap(shown, "  ", 78)
  end
  return table.concat(parts, "\n")
end

local function tensor_text(t)
  local shape = t:size()
  local dims = {}
  for i = 1, #shape do dims[i] = tostring(shape[i]) end
  return string.format(
    "dnn.Tensor: dtype %s, shape [%s] (%d elements), device %s, %s\n" ..
    "  Methods: help(\"Tensor\") lists them, help(\"Tensor:sum\") explains one; t:<Tab> completes in the REPL.",
    t.dtype, table.concat(dims, ", "), t:numel(), t.device, t:is_contiguous() and "contiguous" or "not contiguous (a view)")
end

local function name_text(name)
  local n = name:gsub("^%s+", ""):gsub("%s+$", "")
  if n == "Tensor" or n == "dnn.Tensor" or n == "dnn.methods" then
    return list_text("Tensor methods (t:name(...); each is also dnn.name(t, ...)):", names_under("Tensor:"))
  end
  if n == "dnn" then return overview_by_section() end
  local keys = help.resolve(name)
  if #keys > 0 then
    local out = {}
    for i, k in ipairs(keys) do
      out[i] = entry_text(k)
      local under = names_under(k .. ".") -- a module: list what is in it
      if #under > 0 then out[i] = out[i] .. "\n" .. list_text(k .. ":", under) end
    end
    return table.concat(out, "\n")
  end
  local under = names_under(n .. ".")
  if #under > 0 then return list_text(n .. ":", under) end
  local std = stdlib_name(global_path(n))
  if std then return "'" .. std .. "' is part of Lua's standard library: " .. LUA_MANUAL .. std end
  local text = "no help for '" .. n .. "'"
  local close = help.suggest(n)
  if #close > 0 then text = text .. "; did you mean " .. table.concat(close, ", ") .. "?" end
  return text
end

local function function_text(fn)
  local names = value_names()[fn]
  if names then
    -- first the names that have entries, each shown once
    local seen, out = {}, {}
    for _, name in ipairs(names) do
      for _, k in ipairs(help.resolve(name)) do
        if not seen[k] then
          seen[k] = true
          out[#out + 1] = entry_text(k)
        end
      end
    end
    if #out > 0 then return table.concat(out, "\n") end
    return names[1] .. ": a dnn function with no help entry yet"
  end
  local std = stdlib_name(fn)
  if std then return "'" .. std .. "' is part of Lua's standard library: " .. LUA_MANUAL .. std end
  local info = debug.getinfo(fn, "S")
  if info and info.what == "Lua" then
    return string.format("a Lua function defined at %s:%d (no help entry)", info.short_src, info.linedefined)
  end
  return "a function with no help entry"
end

local function table_text(t)
  local names = value_names()[t]
  if names then
    local name = names[1]
    if name == "dnn" then return overview_by_section() end
    return name_text(name)
  end
  if getmetatable(t) and getmetatable(t).__tostring then
    return "a " .. (getmetatable(t).__name or "table") .. ": " .. tostring(t)
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  local more = #keys > 20 and ", ..." or ""
  while #keys > 20 do table.remove(keys) end
  return string.format("a table with %d %s%s%s", n, n == 1 and "entry" or "entries", #keys > 0 and "; fields: " or "", table.concat(keys, ", ") .. more)
end

-- The text help(...) prints.
function help.text(...)
  if select("#", ...) == 0 then return OVERVIEW end
  local x = ...
  if x == nil then return "help: got nil (a misspelt name? try help(\"name\") or ?name)" end
  if x == help then return OVERVIEW end
  if type(x) == "string" then
    local n = x:gsub("^%s*%?", "")
    if n:match("^%s*$") then return OVERVIEW end
    return name_text(n)
  end
  if is_tensor(x) then return tensor_text(x) end
  if type(x) == "function" then return function_text(x) end
  if type(x) == "table" then return table_text(x) end
  return string.format("a %s: %s (help works on dnn functions, names and tensors)", type(x), tostring(x))
end

-- Prints help for a function, name, tensor or nothing (an overview).
function help.help(...)
  io.write(help.text(...), "\n")
  io.flush()
end

return setmetatable(help, {
  __call = function(_, ...) return help.help(...) end,
})
