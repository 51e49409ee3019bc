-- Help entries for the training pieces: layers, initializers, regularizers,
-- losses, optimizers, schedules and dnn.data (dnn.help adds these at load).
return function(add, section)
  section "Layers (dnn.layers)"
  add("dnn.layers.Layer", "dnn.layers.Layer:extend(name)",
    "Base class: define build(input_shape), call(x, {training=}) and use self:add_weight{name=, shape=, initializer=, trainable=}.")
  add("dnn.layers.register", "dnn.layers.register(name, class)", "Makes a custom layer class loadable by name.")
  add("dnn.layers.Dense", "dnn.layers.Dense{units, activation=, use_bias=true, kernel_initializer=, kernel_regularizer=}",
    "x @ kernel + bias, kernel (in, units); fused with the activation.")
  add("dnn.layers.Conv2D", "dnn.layers.Conv2D{filters, kernel_size, strides=1, padding=\"valid\", dilation_rate=1, groups=1, activation=, data_format=}",
    "2-d convolution, channels-last, kernel (kh, kw, in, filters).")
  add("dnn.layers.MaxPooling2D", "dnn.layers.MaxPooling2D{pool_size=2, strides=, padding=\"valid\"}", "Max over windows.")
  add("dnn.layers.AveragePooling2D", "dnn.layers.AveragePooling2D{pool_size=2, strides=, padding=\"valid\"}", "Mean over windows.")
  add("dnn.layers.GlobalAveragePooling2D", "dnn.layers.GlobalAveragePooling2D{keepdims=false}", "Mean over height and width.")
  add("dnn.layers.GlobalMaxPooling2D", "dnn.layers.GlobalMaxPooling2D{keepdims=false}", "Max over height and width.")
  add("dnn.layers.PyramidPooling", "dnn.layers.PyramidPooling{pooling=\"max\", levels=1}", "deep_pipe's pyramid pooling.")
  add("dnn.layers.BatchNormalization", "dnn.layers.BatchNormalization{axis=-1, momentum=0.99, epsilon=1e-3}",
    "Batch statistics while training (moving averages updated), moving statistics in inference.")
  add("dnn.layers.LayerNormalization", "dnn.layers.LayerNormalization{axis=-1, epsilon=1e-3}", "Normalises each sample over axis.")
  add("dnn.layers.Dropout", "dnn.layers.Dropout{rate, seed=}", "Inverted dropout while training (call with {training=true}).")
  add("dnn.layers.Flatten", "dnn.layers.Flatten()", "(batch, ...) -> (batch, n).")
  add("dnn.layers.Reshape", "dnn.layers.Reshape{target_shape}", "Reshape keeping the batch dim.")
  add("dnn.layers.Activation", "dnn.layers.Activation{activation}", "Applies a Keras activation by name or function.")
  add("dnn.layers.ReLU", "dnn.layers.ReLU{max_value=, negative_slope=0, threshold=0}", "Keras's ReLU layer.")
  add("dnn.layers.LeakyReLU", "dnn.layers.LeakyReLU{alpha=0.3}", "x > 0 ? x : alpha x.")
  add("dnn.layers.Softmax", "dnn.layers.Softmax{axis=-1}", "Softmax along axis.")
  add("dnn.layers.Embedding", "dnn.layers.Embedding{input_dim, output_dim}", "Rows of a (input_dim, output_dim) table at 0-based ids.")
  add("dnn.layers.Concatenate", "dnn.layers.Concatenate{axis=-1}", "Concatenates a list of inputs.")
  add("dnn.layers.Add", "dnn.layers.Add()", "Sums a list of inputs.")
  add("dnn.layers.Multiply", "dnn.layers.Multiply()", "Multiplies a list of inputs.")
  add("dnn.layers.Lambda", "dnn.layers.Lambda(fn)", "Wraps a Lua function as a layer.")
  add("dnn.layers.InputLayer", "dnn.layers.InputLayer{input_shape=}", "The identity at a model's start.")
  add("dnn.initializers.get", "dnn.initializers.get(name_or_object)",
    "Keras initializers: glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, zeros, ones, random_normal, ...")
  add("dnn.regularizers.get", "dnn.regularizers.get(name_or_object)", "L1{l1=0.01}, L2{l2=0.01}, L1L2{l1=, l2=}: penalties that join the loss.")

  section "Losses and optimizers"
  add("dnn.losses.get", "dnn.losses.get(name_or_fn_or_object)",
    "Keras losses by name (\"sparse_categorical_crossentropy\", \"mse\", ...) or class (SparseCategoricalCrossentropy{from_logits=}); NaN/Inf are returned, not raised.")
  add("dnn.losses.SparseCategoricalCrossentropy", "dnn.losses.SparseCategoricalCrossentropy{from_logits=false, reduction=}",
    "Fused, stable softmax-crossentropy for 0-based integer labels; call as loss(y_true, y_pred[, sample_weight]).")
  add("dnn.optimizers.get", "dnn.optimizers.get(name_or_object)", "Keras optimizers: sgd, rmsprop, adam, adamw, adadelta, adagrad, adamax, nadam, ftrl.")
  add("dnn.optimizers.Adam", "dnn.optimizers.Adam{learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=false}",
    "opt:apply_gradients(grads, vars); PyTorch style Adam(params, {lr=}) with zero_grad() and step().")
  add("dnn.optimizers.SGD", "dnn.optimizers.SGD{learning_rate=0.01, momentum=0, nesterov=false}", "Stochastic gradient descent.")
  add("dnn.optimizers.schedules", "dnn.optimizers.schedules.ExponentialDecay{initial_learning_rate, decay_steps, decay_rate}",
    "Learning-rate schedules: ExponentialDecay, PiecewiseConstantDecay, CosineDecay, InverseTimeDecay, PolynomialDecay.")

  section "Data (dnn.data)"
  add("dnn.data.from_tensors", "dnn.data.from_tensors{x, y, batch_size=32, shuffle=false, seed=, drop_remainder=false}",
    "A Sequence over tensors: seq:len(), seq:get(i), for xb, yb in seq:batches() do ... end (reshuffles each epoch).")
  add("dnn.data.Sequence", "dnn.data.Sequence:extend(name)", "Base class: define len() and get(i) -> x, y[, sample_weight]; on_epoch_end() optional.")

  section "Models (Keras-style)"
  add("dnn.Sequential", "dnn.Sequential{layer1, layer2, ..., name=}", "Layers called in turn; :add(layer), :pop(); builds at once when the first layer has input_shape.")
  add("dnn.Model", "dnn.Model{inputs=, outputs=, name=} / dnn.Model:extend(name)",
    "A functional model over dnn.Input and layer calls, or a subclass defining call(x, opts) (and train_step).")
  add("dnn.Input", "dnn.Input{shape={...}, name=, dtype=}", "A symbolic input for the functional API (batch dim left out).")
  add("dnn.models.Model.compile", "model:compile{optimizer=, loss=, metrics=, loss_weights=, weighted_metrics=}",
    "Names (\"adam\", \"sparse_categorical_crossentropy\", \"accuracy\") or objects, as Keras resolves them.")
  add("dnn.models.Model.fit", "model:fit{x, y, batch_size=32, epochs=1, verbose=\"auto\", callbacks=, validation_split=, validation_data=, shuffle=true, class_weight=, sample_weight=, initial_epoch=, steps_per_epoch=, validation_steps=, validation_batch_size=, validation_freq=}",
    "Keras's fit; returns a History (history.history.loss, .val_loss, ...); Ctrl-C stops after the batch.")
  add("dnn.models.Model.evaluate", "model:evaluate{x, y, batch_size=32, verbose=, sample_weight=, steps=, callbacks=}",
    "A table of results by name (res.loss, res.accuracy) and in order (res[1]).")
  add("dnn.models.Model.predict", "model:predict{x, batch_size=32, verbose=, steps=}", "Predictions in batches, concatenated.")
  add("dnn.models.Model.summary", "model:summary()", "Keras's table: layer (type), output shape, param #, and the totals.")
  add("dnn.models.Model.train_step", "Model:train_step(data) -- override",
    "One training step of fit: data = {x, y, sample_weight}; return self:metrics_result().")
  add("dnn.utils.compute_class_weight", "dnn.utils.compute_class_weight(\"balanced\", classes, y)", "n_samples / (n_classes * bincount(y)).")

  section "Callbacks and metrics"
  add("dnn.callbacks.EarlyStopping", "dnn.callbacks.EarlyStopping{monitor=\"val_loss\", min_delta=0, patience=0, mode=\"auto\", baseline=, restore_best_weights=false, start_from_epoch=0}",
    "Stops fit when the monitored value stops improving.")
  add("dnn.callbacks.ReduceLROnPlateau", "dnn.callbacks.ReduceLROnPlateau{monitor=\"val_loss\", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0}",
    "Scales the learning rate down after a plateau.")
  add("dnn.callbacks.LearningRateScheduler", "dnn.callbacks.LearningRateScheduler(schedule)", "lr = schedule(epoch, lr) at each epoch's start.")
  add("dnn.callbacks.TerminateOnNaN", "dnn.callbacks.TerminateOnNaN()", "Stops on a NaN/Inf loss.")
  add("dnn.callbacks.CSVLogger", "dnn.callbacks.CSVLogger(filename, {separator=\",\", append=false})", "One CSV row of logs per epoch.")
  add("dnn.callbacks.LambdaCallback", "dnn.callbacks.LambdaCallback{on_epoch_end=, on_batch_end=, ...}", "Callbacks from functions.")
  add("dnn.callbacks.History", "dnn.callbacks.History()", "What fit returns: history.history[name] lists per epoch.")
  add("dnn.callbacks.base_callbacks", "dnn.callbacks.base_callbacks{task=, metric=, cost_matrix=, lift_point=0.4, custom_score=}",
    "DSS's callbacks: \"Test <metric>\" logs on the validation data, and stop on interrupt; sets dnn.get_variable(\"DKU_MODEL_METRIC\").")
  add("dnn.metrics.get", "dnn.metrics.get(name_or_object)", "Keras metrics: accuracy, binary/categorical/sparse_categorical_accuracy, top-k, precision, recall, f1, AUC, mse, rmse, mae, mape, msle, r2, ...")
  add("dnn.metrics.roc_auc_score", "dnn.metrics.roc_auc_score(y_true, y_score, {multi_class=})", "scikit-learn's roc_auc_score (binary; ovr/ovo macro for multiclass).")
end