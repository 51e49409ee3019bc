-- dnn.callbacks: Keras's callbacks (keras.callbacks), one class per file.
--
--   model:fit{..., callbacks={dnn.callbacks.EarlyStopping{monitor="val_loss", patience=2}}}
--
-- Each class takes Keras's arguments in both call forms (Name{a, key=v} and
-- Name(a, {key=v})).  Loading this module also sets dnn.callbacks, keeping
-- what another file (dnn.callbacks.dss: base_callbacks) put there first.
local dnn = require "dnn"

local M = dnn.callbacks or {}
dnn.callbacks = M

M.Callback = require "dnn.callbacks.Callback"
M.CallbackList = require "dnn.callbacks.CallbackList"
M.History = require "dnn.callbacks.History"
M.ProgbarLogger = require "dnn.callbacks.ProgbarLogger"
M.EarlyStopping = require "dnn.callbacks.EarlyStopping"
M.ReduceLROnPlateau = require "dnn.callbacks.ReduceLROnPlateau"
M.LearningRateScheduler = require "dnn.callbacks.LearningRateScheduler"
M.TerminateOnNaN = require "dnn.callbacks.TerminateOnNaN"
M.CSVLogger = require "dnn.callbacks.CSVLogger"
M.LambdaCallback = require "dnn.callbacks.LambdaCallback"
M.BackupAndRestore = require "dnn.callbacks.BackupAndRestore"
M.ModelCheckpoint = require "dnn.callbacks.ModelCheckpoint"
M.TensorBoard = require "dnn.callbacks.TensorBoard"

return M
