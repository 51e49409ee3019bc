-- BackupAndRestore{backup_dir, save_freq="epoch", delete_checkpoint=true}:
-- Keras's fault-tolerance callback.  After every epoch it writes, atomically,
-- everything the rest of the run depends on -- weights, optimizer state, the
-- global random generator's state, the epoch counter and the data order's
-- state -- so that a fit started again with the same callback after a crash
-- or Ctrl-C resumes at the next epoch and ends with the weights an
-- uninterrupted run would have had, bit for bit.  A run that completes
-- deletes the backup (delete_checkpoint=true); an interrupted one keeps it.
local dnn = require "dnn"
local class = require "dnn.class"
local Callback = require "dnn.callbacks.Callback"

local BackupAndRestore = Callback:extend("BackupAndRestore")

local FILE = "backup.h5"

function BackupAndRestore:init(...)
  local a = class.kwargs("BackupAndRestore", { "backup_dir" }, { "save_freq", "delete_checkpoint",
    "save_before_preemption" }, ...)
  if type(a.backup_dir) ~= "string" or a.backup_dir == "" then
    error("BackupAndRestore: backup_dir must be a directory path", 3)
  end
  if a.save_freq ~= nil and a.save_freq ~= "epoch" and math.type(a.save_freq) ~= "integer" then
    error(("BackupAndRestore: save_freq must be \"epoch\" or a number of batches, got %s"):format(tostring(a.save_freq)), 3)
  end
  self.backup_dir = a.backup_dir
  self.save_freq = a.save_freq or "epoch"
  self.delete_checkpoint = a.delete_checkpoint ~= false
  self.path = a.backup_dir .. "/" .. FILE
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

function BackupAndRestore:_save(epoch_done)
  os.execute("mkdir -p " .. shell_quote(self.backup_dir))
  local m = self.model
  local seq = m._fit_sequence
  local state = {
    format = "dnnlua.backup", epoch = epoch_done, weights = m:get_weights(),
    optimizer = m.optimizer:get_state(), rng = dnn.get_rng_state(),
    sequence = (seq and seq.get_state) and seq:get_state() or false,
  }
  dnn.save(self.path, state)
end

function BackupAndRestore:on_train_begin()
  if not exists(self.path) then return end
  local ok, state = pcall(dnn.load, self.path)
  if not ok then
    error(("BackupAndRestore: cannot read the backup %s: %s"):format(self.path, tostring(state)), 0)
  end
  if type(state) ~= "table" or state.format ~= "dnnlua.backup" then
    error(("BackupAndRestore: %s is not a dnnlua backup"):format(self.path), 0)
  end
  local m = self.model
  local ok2, err = pcall(function()
    m:set_weights(state.weights)
    m.optimizer:set_state(state.optimizer)
  end)
  if not ok2 then
    error(("BackupAndRestore: the backup in %s does not fit this model: %s"):format(self.backup_dir, tostring(err)), 0)
  end
  dnn.set_rng_state(state.rng)
  local seq = m._fit_sequence
  if state.sequence and seq and seq.set_state then seq:set_state(state.sequence) end
  m._resume_epoch = state.epoch + 1
end

function BackupAndRestore:on_epoch_end(epoch)
  if self.save_freq == "epoch" then self:_save(epoch) end
end

function BackupAndRestore:on_train_end(logs)
  if logs and logs.interrupted then return end -- keep it: the next fit resumes from it
  if self.model.stop_training and not self.delete_checkpoint then return end
  if self.delete_checkpoint and exists(self.path) then os.remove(self.path) end
end

return BackupAndRestore
