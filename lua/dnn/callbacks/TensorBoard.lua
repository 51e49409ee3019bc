-- TensorBoard{log_dir="logs", update_freq="epoch", write_steps_per_second=false}:
-- Keras's TensorBoard callback, scalars only, in the event files TensorBoard
-- reads (written in C: src/io/tfevents.c).  As tf.keras 2.15 lays them out:
--
--   <log_dir>/train/events.out.tfevents.*        epoch_<metric> at step = epoch
--                                                batch_<metric> at step = the
--                                                update count (update_freq
--                                                "batch" or every N batches)
--   <log_dir>/validation/events.out.tfevents.*   epoch_<metric> (val_ dropped)
--                                                at step = epoch, and
--                                                evaluation_<metric>_vs_iterations
--                                                at step = the update count
--
-- plus epoch_learning_rate when the optimizer's learning rate is a schedule
-- and epoch_steps_per_second with write_steps_per_second.  Histograms,
-- graphs, images, profiling and embeddings are not written: their arguments
-- are accepted so that Keras scripts run, and ignored.
local dnn = require "dnn"
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"

local TensorBoard = Callback:extend("TensorBoard")

local IGNORED = { "histogram_freq", "write_graph", "write_images", "profile_batch", "embeddings_freq",
                  "embeddings_metadata", "embeddings_layer_names", "embeddings_data" }

function TensorBoard:init(...)
  local extra = { "write_steps_per_second", "update_freq" }
  for _, k in ipairs(IGNORED) do extra[#extra + 1] = k end
  local a = class.kwargs("TensorBoard", { "log_dir" }, extra, ...)
  local dir = a.log_dir or "logs"
  if type(dir) ~= "string" or dir == "" then
    error(("TensorBoard: log_dir must be a directory path, got %s"):format(class.name(dir)), 3)
  end
  local freq = a.update_freq or "epoch"
  if freq == "batch" then freq = 1 end
  if freq ~= "epoch" and (math.type(freq) ~= "integer" or freq < 1) then
    error(("TensorBoard: update_freq must be \"epoch\", \"batch\" or a positive integer, got %s")
      :format(tostring(freq)), 3)
  end
  self.log_dir, self.update_freq = dir, freq
  self.write_steps_per_second = a.write_steps_per_second == true
  self._global_train_batch = 0
end

function TensorBoard:_writer(which)
  local key = "_" .. which .. "_writer"
  if not self[key] then self[key] = dnn.core.tfevents.create(self.log_dir .. "/" .. which) end
  return self[key]
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

local function number_of(v)
  if dnn.is_tensor(v) then v = v:item() end
  return type(v) == "number" and v or nil
end

-- The optimizer's update count (Keras's optimizer.iterations).
function TensorBoard:_iterations()
  local opt = self.model and self.model.optimizer
  local it = opt and opt.iterations
  if math.type(it) == "integer" then return it end
  return self._global_train_batch
end

function TensorBoard:on_train_begin()
  self._global_train_batch = 0
  self._epoch_start, self._epoch_batches = nil, 0
end

function TensorBoard:on_epoch_begin()
  self._epoch_start = dnn.core.tfevents.now()
  self._epoch_batches = 0
end

function TensorBoard:on_train_batch_begin()
  self._global_train_batch = self._global_train_batch + 1
end

function TensorBoard:on_train_batch_end(batch, logs)
  self._epoch_batches = (self._epoch_batches or 0) + 1
  if self.update_freq == "epoch" or not logs then return end
  if self._global_train_batch % self.update_freq ~= 0 then return end
  local w, step = self:_writer("train"), self:_iterations()
  for _, k in ipairs(sorted_keys(logs)) do
    if k ~= "batch" and k ~= "size" and k ~= "num_steps" then
      local v = number_of(logs[k])
      if v then w:scalar("batch_" .. k, v, step) end
    end
  end
end

function TensorBoard:on_epoch_end(epoch, logs)
  if not logs then return end
  local train, val = {}, {}
  for _, k in ipairs(sorted_keys(logs)) do
    local v = number_of(logs[k])
    if v then
      if k:sub(1, 4) == "val_" then val[#val + 1] = { k:sub(5), v } else train[#train + 1] = { k, v } end
    end
  end
  local opt = self.model and self.model.optimizer
  if opt and type(opt.learning_rate) ~= "number" and opt.current_learning_rate then
    local ok, lr = pcall(opt.current_learning_rate, opt)
    if ok and type(lr) == "number" then train[#train + 1] = { "learning_rate", lr } end
  end
  if self.write_steps_per_second and self._epoch_start then
    local dt = dnn.core.tfevents.now() - self._epoch_start
    train[#train + 1] = { "steps_per_second", dt > 0 and self._epoch_batches / dt or 0 }
  end
  if #train > 0 then
    local w = self:_writer("train")
    for _, p in ipairs(train) do w:scalar("epoch_" .. p[1], p[2], epoch) end
    w:flush()
  end
  if #val > 0 then
    local w, it = self:_writer("validation"), self:_iterations()
    for _, p in ipairs(val) do w:scalar("epoch_" .. p[1], p[2], epoch) end
    -- Keras writes these from on_test_end during fit's validation
    for _, p in ipairs(val) do w:scalar("evaluation_" .. p[1] .. "_vs_iterations", p[2], it) end
    w:flush()
  end
end

-- model:evaluate with this callback: the results against the update count.
function TensorBoard:on_test_end(logs)
  if not logs then return end
  local w, it = self:_writer("validation"), self:_iterations()
  for _, k in ipairs(sorted_keys(logs)) do
    local v = number_of(logs[k])
    if v then w:scalar("evaluation_" .. k .. "_vs_iterations", v, it) end
  end
  w:flush()
end

function TensorBoard:_close()
  for _, key in ipairs({ "_train_writer", "_validation_writer" }) do
    if self[key] then
      self[key]:close()
      self[key] = nil
    end
  end
end

function TensorBoard:on_train_end() self:_close() end

return TensorBoard
