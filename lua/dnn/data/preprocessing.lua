-- scikit-learn's and Keras's small data helpers, with their semantics:
--
--   train_test_split(x, y, ..., {test_size=, train_size=, random_state=,
--                    shuffle=true, stratify=})
--       -> x_train, x_test, y_train, y_test, ...   (sklearn 1.2: same sizes,
--       and for an integer random_state the very rows sklearn picks, drawn
--       with numpy's RandomState; stratify keeps class proportions).
--       Arrays are tensors (split along dim 1) or Lua lists.
--   StandardScaler{with_mean=true, with_std=true}
--   MinMaxScaler{feature_range={0, 1}, clip=false}
--       fit(x) / transform(x) / fit_transform(x) / inverse_transform(x) on
--       (n_samples, n_features) tensors; statistics in float64 (mean_, var_,
--       scale_, data_min_, data_max_, data_range_, min_), results in x's
--       float dtype (float32 for integer input).
--   to_categorical(y, num_classes, {dtype="float32"})   Keras: one-hot rows
--       for 0-based class ids; a trailing size-1 dim of y is dropped.
local dnn = require "dnn"
local class = require "dnn.class"
local mt19937 = require "dnn.data.mt19937"

local P = {}

-- ---------------------------------------------------------------- splits

local function nsamples(a)
  if dnn.is_tensor(a) then
    if a:dim() == 0 then error("train_test_split: a 0-d tensor has no samples", 4) end
    return a:size(1)
  end
  return #a
end

-- sklearn's _validate_shuffle_split, with its messages.
local function validate_sizes(n, test_size, train_size)
  if test_size == nil and train_size == nil then test_size = 0.25 end
  local function kind(v)
    if v == nil then return nil end
    if math.type(v) == "integer" then return "i" end
    if math.type(v) == "float" then return "f" end
    return "?"
  end
  local tk, rk = kind(test_size), kind(train_size)
  if (tk == "i" and (test_size >= n or test_size <= 0)) or (tk == "f" and (test_size <= 0 or test_size >= 1)) then
    error(("train_test_split: test_size=%s should be either positive and smaller than the number of samples %d or a float in the (0, 1) range")
      :format(tostring(test_size), n), 4)
  end
  if (rk == "i" and (train_size >= n or train_size <= 0)) or (rk == "f" and (train_size <= 0 or train_size >= 1)) then
    error(("train_test_split: train_size=%s should be either positive and smaller than the number of samples %d or a float in the (0, 1) range")
      :format(tostring(train_size), n), 4)
  end
  if rk == "?" then error(("train_test_split: invalid value for train_size: %s"):format(tostring(train_size)), 4) end
  if tk == "?" then error(("train_test_split: invalid value for test_size: %s"):format(tostring(test_size)), 4) end
  if tk == "f" and rk == "f" and train_size + test_size > 1 then
    error(("train_test_split: the sum of test_size and train_size = %s, should be in the (0, 1) range. Reduce test_size and/or train_size.")
      :format(tostring(train_size + test_size)), 4)
  end
  local n_test, n_train
  if tk == "f" then n_test = math.ceil(test_size * n) elseif tk == "i" then n_test = test_size end
  if rk == "f" then n_train = math.floor(train_size * n) elseif rk == "i" then n_train = train_size end
  if train_size == nil then n_train = n - n_test elseif test_size == nil then n_test = n - n_train end
  if n_train + n_test > n then
    error(("train_test_split: the sum of train_size and test_size = %d, should be smaller than the number of samples %d. Reduce test_size and/or train_size.")
      :format(n_train + n_test, n), 4)
  end
  if n_train == 0 then
    error(("train_test_split: with n_samples=%d, test_size=%s and train_size=%s, the resulting train set will be empty. Adjust any of the aforementioned parameters.")
      :format(n, tostring(test_size), tostring(train_size)), 4)
  end
  return math.tointeger(n_train), math.tointeger(n_test)
end

-- numpy's str() of a float32 / float64 value: the shortest repr that reads back.
local function npstr(x, f32)
  if math.type(x) == "integer" then return tostring(x) end
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" elseif x == -math.huge then return "-inf" end
  for p = 1, 17 do
    local s = ("%." .. p .. "g"):format(x)
    local back = tonumber(s)
    if (f32 and string.pack("f", back) == string.pack("f", x)) or (not f32 and back == x) then
      if not s:find("[%.eEn]") then s = s .. ".0" end
      return s
    end
  end
  return ("%.17g"):format(x)
end

-- Class of each sample and the sorted class keys, as np.unique(y) sees them
-- (rows of a 2-D y are joined as strings, as sklearn does).
local function classes_of(y, n)
  local keys = {}
  if dnn.is_tensor(y) then
    if y:dim() == 2 then
      local f32 = y.dtype == "float32"
      local rows = y:totable()
      for i = 1, n do
        local parts = {}
        for j, v in ipairs(rows[i]) do parts[j] = npstr(v, f32) end
        keys[i] = table.concat(parts, " ")
      end
    elseif y:dim() == 1 then
      keys = y:totable()
    else
      error(("train_test_split: stratify must be 1-D or 2-D, got shape %s"):format(tostring(y:size())), 4)
    end
  else
    for i = 1, n do keys[i] = y[i] end
  end
  if #keys ~= n then
    error(("train_test_split: stratify has %d labels for %d samples"):format(#keys, n), 4)
  end
  local set, uniq = {}, {}
  for _, k in ipairs(keys) do
    if not set[k] then set[k] = true; uniq[#uniq + 1] = k end
  end
  local ok = pcall(table.sort, uniq)
  if not ok then error("train_test_split: stratify labels must be all numbers or all strings", 4) end
  local index = {}
  for i, k in ipairs(uniq) do index[k] = i end
  local yi = {}
  for i, k in ipairs(keys) do yi[i] = index[k] end
  return yi, #uniq
end

-- sklearn's _approximate_mode.
local function approximate_mode(counts, n_draws, rs)
  local total = 0
  for _, c in ipairs(counts) do total = total + c end
  local floored, rem, sum = {}, {}, 0
  for i, c in ipairs(counts) do
    local cont = c / total * n_draws
    floored[i] = math.floor(cont)
    rem[i] = cont - floored[i]
    sum = sum + floored[i]
  end
  local need = math.tointeger(n_draws - sum)
  if need > 0 then
    local values, seen = {}, {}
    for _, r in ipairs(rem) do
      if not seen[r] then seen[r] = true; values[#values + 1] = r end
    end
    table.sort(values, function(a, b) return a > b end)
    for _, v in ipairs(values) do
      local inds = {}
      for i, r in ipairs(rem) do if r == v then inds[#inds + 1] = i end end
      local add = math.min(#inds, need)
      for _, i in ipairs(rs:choice(inds, add)) do floored[i] = floored[i] + 1 end
      need = need - add
      if need == 0 then break end
    end
  end
  return floored
end

local function stratified(n, n_train, n_test, y, rs)
  local yi, k = classes_of(y, n)
  local counts, members = {}, {}
  for c = 1, k do counts[c], members[c] = 0, {} end
  for i, c in ipairs(yi) do -- stable: argsort(kind="mergesort")
    counts[c] = counts[c] + 1
    members[c][#members[c] + 1] = i - 1
  end
  for c = 1, k do
    if counts[c] < 2 then
      error("train_test_split: the least populated class in y has only 1 member, which is too few. The minimum number of groups for any class cannot be less than 2.", 4)
    end
  end
  if n_train < k then
    error(("train_test_split: the train_size = %d should be greater or equal to the number of classes = %d"):format(n_train, k), 4)
  end
  if n_test < k then
    error(("train_test_split: the test_size = %d should be greater or equal to the number of classes = %d"):format(n_test, k), 4)
  end
  local n_i = approximate_mode(counts, n_train, rs)
  local remaining = {}
  for c = 1, k do remaining[c] = counts[c] - n_i[c] end
  local t_i = approximate_mode(remaining, n_test, rs)
  local train, test = {}, {}
  for c = 1, k do
    local perm = rs:permutation(counts[c])
    for j = 1, n_i[c] do train[#train + 1] = members[c][perm[j] + 1] end
    for j = n_i[c] + 1, n_i[c] + t_i[c] do test[#test + 1] = members[c][perm[j] + 1] end
  end
  return rs:shuffle(train), rs:shuffle(test)
end

local function take(a, idx)
  if dnn.is_tensor(a) then
    if #idx == 0 then return a:narrow(1, 1, 0) end
    local pos = {}
    for i, j in ipairs(idx) do pos[i] = j + 1 end -- index_select takes 1-based positions
    return a:index_select(1, dnn.tensor(pos, { dtype = "int64" }))
  end
  local out = {}
  for i, j in ipairs(idx) do out[i] = a[j + 1] end
  return out
end

-- A RandomState for sklearn's check_random_state: an integer seeds one; nil
-- draws a seed from dnn's generator (numpy would use its global one).
local function random_state(fname, v)
  if v == nil then return mt19937.RandomState(dnn.randint(0, 2147483647, { 1 })[1]) end
  if math.type(v) ~= "integer" or v < 0 or v > 0xffffffff then
    error(("%s: random_state must be an integer in 0..2^32-1 (or nil), got %s"):format(fname, tostring(v)), 4)
  end
  return mt19937.RandomState(v)
end

function P.train_test_split(...)
  local args, n = { ... }, select("#", ...)
  local opts = {}
  local last = args[n]
  if n >= 1 and type(last) == "table" and getmetatable(last) == nil then
    local has_keys = next(last) == nil
    for k in pairs(last) do if type(k) == "string" then has_keys = true end end
    local first = last[1]
    local wrapped = n == 1 and (dnn.is_tensor(first) or type(first) == "table")
    if has_keys or wrapped then
      opts = last
      n = n - 1
      if wrapped or (n == 0 and #last > 0) then
        for i = 1, #last do args[i] = last[i] end
        n = #last
      end
    end
  end
  local arrays = {}
  for i = 1, n do arrays[i] = args[i] end
  for k in pairs(opts) do
    if type(k) == "string" and not ({ test_size = 1, train_size = 1, random_state = 1, shuffle = 1, stratify = 1 })[k] then
      error(("train_test_split: unknown argument '%s' (arguments: test_size, train_size, random_state, shuffle, stratify)"):format(k), 2)
    end
  end
  if #arrays == 0 then error("train_test_split: at least one array required as input", 2) end
  local counts, ns = {}, nil
  for i, a in ipairs(arrays) do
    if not dnn.is_tensor(a) and type(a) ~= "table" then
      error(("train_test_split: argument %d is a %s, not a tensor or a list"):format(i, type(a)), 2)
    end
    counts[i] = nsamples(a)
  end
  ns = counts[1]
  for i = 2, #counts do
    if counts[i] ~= ns then
      error(("train_test_split: found input variables with inconsistent numbers of samples: [%s]"):format(
        table.concat(counts, ", ")), 2)
    end
  end
  local n_train, n_test = validate_sizes(ns, opts.test_size, opts.train_size)
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = true end
  local train, test = {}, {}
  if not shuffle then
    if opts.stratify ~= nil then
      error("train_test_split: stratified train/test split is not implemented for shuffle=false", 2)
    end
    for i = 1, n_train do train[i] = i - 1 end
    for i = 1, n_test do test[i] = n_train + i - 1 end
  else
    local rs = random_state("train_test_split", opts.random_state)
    if opts.stratify ~= nil then
      train, test = stratified(ns, n_train, n_test, opts.stratify, rs)
    else
      local perm = rs:permutation(ns)
      for i = 1, n_test do test[i] = perm[i] end
      for i = 1, n_train do train[i] = perm[n_test + i] end
    end
  end
  local out = {}
  for _, a in ipairs(arrays) do
    out[#out + 1] = take(a, train)
    out[#out + 1] = take(a, test)
  end
  return table.unpack(out)
end

-- ---------------------------------------------------------------- scalers

local EPS = 2.220446049250313e-16

local function check_2d(self, fname, x)
  if not dnn.is_tensor(x) then
    error(("%s.%s: expected a tensor, got %s"):format(class.name(self), fname, type(x)), 3)
  end
  if x:dim() ~= 2 then
    error(("%s.%s: expected a 2-D tensor (n_samples, n_features), got shape %s; reshape a single feature with x:view(-1, 1)")
      :format(class.name(self), fname, tostring(x:size())), 3)
  end
  if x.dtype == "bool" then
    error(("%s.%s: bool tensors are not scaled; convert first"):format(class.name(self), fname), 3)
  end
end

local function out_dtype(x)
  if x.dtype == "float64" or x.dtype == "float32" then return x.dtype end
  return "float32"
end

local function check_fitted(self, fname, x)
  if not self.n_features_in_ then
    error(("%s.%s: this %s instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator.")
      :format(class.name(self), fname, class.name(self)), 3)
  end
  check_2d(self, fname, x)
  if x:size(2) ~= self.n_features_in_ then
    error(("%s.%s: x has %d features, but %s is expecting %d features as input.")
      :format(class.name(self), fname, x:size(2), class.name(self), self.n_features_in_), 3)
  end
end

local StandardScaler = class.Object:extend("StandardScaler")
P.StandardScaler = StandardScaler

function StandardScaler:init(...)
  local a = class.kwargs("StandardScaler", {}, { "with_mean", "with_std", "copy" }, ...)
  self.with_mean = a.with_mean ~= false
  self.with_std = a.with_std ~= false
end

function StandardScaler:fit(x)
  check_2d(self, "fit", x)
  local xd = x:double()
  local n = x:size(1)
  if n == 0 then error("StandardScaler.fit: found array with 0 sample(s) while a minimum of 1 is required", 2) end
  self.n_samples_seen_, self.n_features_in_ = n, x:size(2)
  self.mean_, self.var_, self.scale_ = nil, nil, nil
  if not self.with_mean and not self.with_std then return self end
  local mean = xd:mean(1)
  self.mean_ = mean
  if self.with_std then
    local var = (xd - mean):square():mean(1)
    self.var_ = var
    -- sklearn's _is_constant_feature: variance within rounding of zero -> scale 1
    local bound = var * (n * EPS) + (mean * (n * EPS)):square()
    self.scale_ = dnn.where(var:le(bound), dnn.ones_like(var), var:sqrt())
  end
  return self
end

function StandardScaler:transform(x)
  check_fitted(self, "transform", x)
  local y = x:double()
  if self.with_mean then y = y - self.mean_ end
  if self.with_std then y = y / self.scale_ end
  return y:to(out_dtype(x))
end

function StandardScaler:inverse_transform(x)
  check_fitted(self, "inverse_transform", x)
  local y = x:double()
  if self.with_std then y = y * self.scale_ end
  if self.with_mean then y = y + self.mean_ end
  return y:to(out_dtype(x))
end

function StandardScaler:fit_transform(x)
  return self:fit(x):transform(x)
end

local MinMaxScaler = class.Object:extend("MinMaxScaler")
P.MinMaxScaler = MinMaxScaler

function MinMaxScaler:init(...)
  local a = class.kwargs("MinMaxScaler", {}, { "feature_range", "clip", "copy" }, ...)
  local fr = a.feature_range or { 0, 1 }
  if type(fr) ~= "table" or type(fr[1]) ~= "number" or type(fr[2]) ~= "number" then
    error("MinMaxScaler: feature_range must be a pair of numbers {min, max}", 2)
  end
  if fr[1] >= fr[2] then
    error(("MinMaxScaler: minimum of desired feature range must be smaller than maximum. Got (%s, %s)."):format(
      tostring(fr[1]), tostring(fr[2])), 2)
  end
  self.feature_range = { fr[1], fr[2] }
  self.clip = a.clip and true or false
end

function MinMaxScaler:fit(x)
  check_2d(self, "fit", x)
  if x:size(1) == 0 then error("MinMaxScaler.fit: found array with 0 sample(s) while a minimum of 1 is required", 2) end
  local xd = x:double()
  self.n_samples_seen_, self.n_features_in_ = x:size(1), x:size(2)
  self.data_min_ = xd:min(1)
  self.data_max_ = xd:max(1)
  self.data_range_ = self.data_max_ - self.data_min_
  local lo, hi = self.feature_range[1], self.feature_range[2]
  -- sklearn's _handle_zeros_in_scale: a range within 10 eps of zero scales by 1
  local range = dnn.where(self.data_range_:lt(10 * EPS), dnn.ones_like(self.data_range_), self.data_range_)
  self.scale_ = (hi - lo) / range
  self.min_ = lo - self.data_min_ * self.scale_
  return self
end

function MinMaxScaler:transform(x)
  check_fitted(self, "transform", x)
  local y = x:double() * self.scale_ + self.min_
  if self.clip then y = y:clamp(self.feature_range[1], self.feature_range[2]) end
  return y:to(out_dtype(x))
end

function MinMaxScaler:inverse_transform(x)
  check_fitted(self, "inverse_transform", x)
  return ((x:double() - self.min_) / self.scale_):to(out_dtype(x))
end

function MinMaxScaler:fit_transform(x)
  return self:fit(x):transform(x)
end

-- ---------------------------------------------------------------- Keras

function P.to_categorical(...)
  local first = ...
  local a
  if select("#", ...) >= 1 and type(first) == "table" and not dnn.is_tensor(first) and getmetatable(first) == nil
      and type(first[1]) == "number" then
    -- to_categorical({2, 0, 1}[, num_classes][, {dtype=}]): the list is y
    a = class.kwargs("to_categorical", { "num_classes", "dtype" }, nil, select(2, ...))
    a.y = first
  else
    a = class.kwargs("to_categorical", { "y", "num_classes", "dtype" }, nil, ...)
  end
  local y = a.y
  if not dnn.is_tensor(y) then
    if type(y) ~= "table" then
      error(("to_categorical: y must be a tensor or a list of class ids, got %s"):format(type(y)), 2)
    end
    y = dnn.tensor(y, { dtype = "int64" })
  end
  if y:is_floating_point() then
    local r = y:round()
    if not r:eq(y):all():item() then error("to_categorical: class ids must be whole numbers", 2) end
  end
  y = y:long()
  local shape = {}
  for i = 1, y:dim() do shape[i] = y:size(i) end
  if #shape > 1 and shape[#shape] == 1 then shape[#shape] = nil end
  local flat = y:reshape(-1)
  local n = flat:size(1)
  local k = a.num_classes
  if k == nil then
    k = n > 0 and flat:max():item() + 1 or 0
  elseif math.type(k) ~= "integer" or k < 1 then
    error(("to_categorical: num_classes must be a positive integer, got %s"):format(tostring(k)), 2)
  end
  if n > 0 then
    local lo, hi = flat:min():item(), flat:max():item()
    if lo < 0 or hi >= k then
      error(("to_categorical: class ids must lie in 0..%d (num_classes=%d), got %d"):format(k - 1, k,
        lo < 0 and lo or hi), 2)
    end
  end
  local out = dnn.one_hot(flat, k):to(a.dtype or "float32")
  shape[#shape + 1] = k
  return out:view(shape)
end

return P
