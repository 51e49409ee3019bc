-- ModelCheckpoint{filepath, monitor="val_loss", verbose=0, save_best_only=false,
-- save_weights_only=false, mode="auto", save_freq="epoch", initial_value_threshold=}
-- (Keras): saves the model (model:save) or its weights (model:save_weights)
-- after each epoch, or every save_freq batches, to filepath formatted with the
-- epoch (1-based) and the logs: "ckpt-{epoch:02d}-{val_loss:.2f}.h5".  With
-- save_best_only only an improvement of the monitored value (strictly) saves.
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"

local ModelCheckpoint = Callback:extend("ModelCheckpoint")

local function is_max_name(name)
  local n = name:lower()
  return n:match("acc$") ~= nil or n:match("accuracy$") ~= nil or n:match("auc$") ~= nil
end

function ModelCheckpoint:init(...)
  local a = class.kwargs("ModelCheckpoint", { "filepath" }, { "monitor", "verbose", "save_best_only",
    "save_weights_only", "mode", "save_freq", "initial_value_threshold", "options" }, ...)
  if type(a.filepath) ~= "string" or a.filepath == "" then error("ModelCheckpoint: filepath must be a string", 3) end
  self.filepath = a.filepath
  self.monitor = a.monitor or "val_loss"
  self.verbose = a.verbose or 0
  self.save_best_only = a.save_best_only and true or false
  self.save_weights_only = a.save_weights_only and true or false
  self.save_freq = a.save_freq or "epoch"
  if self.save_freq ~= "epoch" and (math.type(self.save_freq) ~= "integer" or self.save_freq < 1) then
    error(("ModelCheckpoint: save_freq must be \"epoch\" or a positive number of batches, got %s"):format(tostring(self.save_freq)), 3)
  end
  local mode = a.mode or "auto"
  if mode ~= "auto" and mode ~= "min" and mode ~= "max" then
    error(("ModelCheckpoint: mode must be \"auto\", \"min\" or \"max\", got %s"):format(tostring(mode)), 3)
  end
  if mode == "auto" then mode = is_max_name(self.monitor) and "max" or "min" end
  self.mode = mode
  self.best = a.initial_value_threshold or (mode == "max" and -math.huge or math.huge)
  self.batches = 0
  self.epoch = 0
  self.warned = false
end

-- Python-style format fields: {epoch:02d}, {val_loss:.2f}, {loss}.
-- {batch} is the 1-based batch within the epoch, as Keras formats it.
function ModelCheckpoint:_path(epoch, logs)
  return (self.filepath:gsub("{([%w_]+):?([^}]*)}", function(key, spec)
    local v
    if key == "epoch" then v = epoch + 1 elseif key == "batch" then v = self.batch else v = logs and logs[key] end
    if v == nil then
      error(("ModelCheckpoint: filepath field {%s} is not in the logs (have: epoch, batch%s)"):format(key,
        (function()
          local ks = {}
          for k in pairs(logs or {}) do ks[#ks + 1] = k end
          table.sort(ks)
          return #ks > 0 and ", " .. table.concat(ks, ", ") or ""
        end)()), 0)
    end
    if spec == "" then return tostring(v) end
    local fmt = "%" .. spec
    if spec:match("d$") then v = math.floor(v) end
    return fmt:format(v)
  end))
end

function ModelCheckpoint:_save(epoch, logs)
  local path = self:_path(epoch, logs)
  if self.save_best_only then
    local v = logs and logs[self.monitor]
    if v == nil then
      if not self.warned then
        io.stderr:write(("ModelCheckpoint: can save best model only with %s available, skipping\n"):format(self.monitor))
        self.warned = true
      end
      return
    end
    local better = (self.mode == "min" and v < self.best) or (self.mode == "max" and v > self.best)
    if not better then
      if self.verbose > 0 then
        print(("Epoch %d: %s did not improve from %.5f"):format(epoch + 1, self.monitor, self.best))
      end
      return
    end
    if self.verbose > 0 then
      print(("Epoch %d: %s improved from %.5f to %.5f, saving model to %s"):format(epoch + 1, self.monitor,
        self.best, v, path))
    end
    self.best = v
  elseif self.verbose > 0 then
    print(("Epoch %d: saving model to %s"):format(epoch + 1, path))
  end
  if self.save_weights_only then self.model:save_weights(path) else self.model:save(path) end
end

function ModelCheckpoint:on_epoch_begin(epoch) self.epoch = epoch end

-- save_freq counts batches across epochs (Keras's _batches_seen_since_last_saving).
function ModelCheckpoint:on_train_batch_end(batch, logs)
  if self.save_freq == "epoch" then return end
  self.batches = self.batches + 1
  self.batch = batch + 1
  if self.batches % self.save_freq == 0 then self:_save(self.epoch, logs) end
end

function ModelCheckpoint:on_epoch_end(epoch, logs)
  self.batch = nil
  if self.save_freq == "epoch" then self:_save(epoch, logs) end
end

return ModelCheckpoint
