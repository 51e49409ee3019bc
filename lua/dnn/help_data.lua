-- Help entries for data files and pipelines, devices, distributed training
-- and dnn.train (dnn.help adds these at load, after help_training).
return function(add, section)
  section "Data files"
  add("dnn.io.read_csv", "dnn.io.read_csv(path, {header=true, columns=, dtype=\"float32\", delimiter=\",\", na=})",
    "Numeric CSV columns -> (rows, columns) tensor and the column names; a bad cell is an error naming file:line and column.")
  add("dnn.io.read_png", "dnn.io.read_png(path, {channels=, color_mode=, dtype=\"uint8\"})",
    "PNG (gray, gray+alpha, RGB, RGBA, 1-16 bit, palette, interlaced) -> uint8 (H, W, C); dtype=\"int32\" keeps 16-bit samples.")
  add("dnn.io.write_png", "dnn.io.write_png(path, t)", "(H, W) or (H, W, C) uint8 -> 8-bit PNG, int32/int64 -> 16-bit; atomic.")
  add("dnn.io.h5read", "dnn.io.h5read(path, name)", "One HDF5 dataset as a tensor.")
  add("dnn.io.h5write", "dnn.io.h5write(path, name, t, {mode=\"a\"})",
    "Writes one dataset; mode \"a\" keeps the file's other contents (rewritten atomically), \"w\" starts anew.")
  add("dnn.listdir", "dnn.listdir(dir)", "The entries of a directory, sorted (used by the image-folder loaders).")

  section "Data pipelines (dnn.data)"
  add("dnn.data.Sequence", "dnn.data.Sequence:extend(name)",
    "Base class: len(), get(i) -> x, y[, sample_weight], on_epoch_end(); batches are checked for consistent shapes.")
  add("dnn.data.from_tensors", "dnn.data.from_tensors{x, y, sample_weight, batch_size=32, shuffle=false, seed=}",
    "A Sequence over tensors (x may be a list or a {name=tensor} table for multi-input models).")
  add("dnn.data.sequence_builder", "dnn.data.sequence_builder{x, y, shuffle=, seed=}",
    "DSS's build_*_sequence_with_batch_size: returns a function of the batch size giving a Sequence.")
  add("dnn.data.validated", "dnn.data.validated(seq)", "seq with every batch checked against the epoch's first.")
  add("dnn.data.DataAugmentationSequence", "dnn.data.DataAugmentationSequence(seq, input_name, augmentator, n_augmentation, {seed=, include_original=true})",
    "DSS's augmentation: batches of batch_size * n_augmentation rows, the original then augmented copies.")
  add("dnn.data.ImageDataGenerator", "dnn.data.ImageDataGenerator{rotation_range=, width_shift_range=, height_shift_range=, shear_range=, zoom_range=, horizontal_flip=, vertical_flip=, fill_mode=\"nearest\", cval=, rescale=, brightness_range=, channel_shift_range=, featurewise_center=, ...}",
    "Keras's generator: random_transform(x, seed), get_random_transform, apply_transform (bilinear warp in C), fit(x), flow, flow_from_directory.")
  add("dnn.image_transform", "dnn.image_transform(x, params, {fill_mode=\"nearest\", cval=0})",
    "The C warp behind ImageDataGenerator.apply_transform: affine, flips, channel shift, brightness; threaded over a batch.")
  add("dnn.image_transform_matrix", "dnn.image_transform_matrix(params, h, w)", "Keras's composed affine matrix for transform parameters.")
  add("dnn.data.image_dataset_from_directory", "dnn.data.image_dataset_from_directory(dir, {image_size={256, 256}, batch_size=32, validation_split=, subset=, seed=, color_mode=\"rgb\", labels=\"inferred\", label_mode=\"int\", shuffle=true, interpolation=})",
    "Keras's loader: class folders -> labels, PNGs decoded and resized on background C threads; a Sequence for fit.")
  add("dnn.image_pool", "dnn.image_pool(...)", "The background decoding threads behind image_dataset_from_directory.")
  add("dnn.data.resize_images", "dnn.data.resize_images(images, {h, w}, {interpolation=\"bilinear\", crop_to_aspect_ratio=false})",
    "tf.image.resize in C for (H, W, C) or (N, H, W, C).")
  add("dnn.data.train_test_split", "dnn.data.train_test_split(x, y, {test_size=0.25, random_state=, shuffle=true, stratify=})",
    "scikit-learn's split: x_train, x_test, y_train, y_test.")
  add("dnn.data.StandardScaler", "dnn.data.StandardScaler()", "fit / transform / fit_transform / inverse_transform: zero mean, unit variance per column.")
  add("dnn.data.MinMaxScaler", "dnn.data.MinMaxScaler{feature_range={0, 1}}", "fit / transform / fit_transform / inverse_transform: per-column range.")
  add("dnn.data.to_categorical", "dnn.data.to_categorical(y, num_classes)", "Keras's one-hot (also dnn.utils.to_categorical).")

  section "Distributed and deep_pipe-style training"
  add("dnn.distributed", "dnn.distributed",
    "Data-parallel replicas under mpirun: rank(), size(), local_rank(), barrier(), allreduce(t, op), broadcast(t, root), allgather(t).")
  add("dnn.distributed.DistributedOptimizer", "dnn.distributed.DistributedOptimizer(optimizer)",
    "Averages gradients across replicas (fused buckets) before each step; fit then shards data and lets rank 0 print and write.")
  add("dnn.train.train_model", "dnn.train.train_model{model, batch_iter, n_epochs=, lr=, log_path=, checkpoints_path=, validate=, policies={...}}",
    "deep_pipe's train loop: TensorBoard/CSV logs, atomic checkpoints, exact resume when run again.")
  add("dnn.train.TrainModel", "dnn.train.TrainModel{architecture, activation=, loss=, optimizer=}",
    "do_train_step(x, y, {lr=}) -> loss, do_inf_step(x): a network trained on logits.")
  add("dnn.train.Infinite", "dnn.train.Infinite{source, batch_size=, batches_per_epoch=, buffer_size=}", "deep_pipe's endless batch iterator.")
  add("dnn.callbacks.TensorBoard", "dnn.callbacks.TensorBoard{log_dir=}", "TensorBoard event files from fit (train/ and validation/ runs).")
  add("dnn.callbacks.ModelCheckpoint", "dnn.callbacks.ModelCheckpoint{filepath, monitor=\"val_loss\", save_best_only=false, save_weights_only=false, mode=\"auto\", save_freq=\"epoch\"}",
    "Saves the model (or weights) to filepath formatted with {epoch:02d} and the logs, e.g. ckpt-{epoch:02d}-{val_loss:.2f}.h5.")
  add("dnn.callbacks.BackupAndRestore", "dnn.callbacks.BackupAndRestore{backup_dir, save_freq=\"epoch\", delete_checkpoint=true}",
    "A fit started again after a crash resumes from the backup, ending bit for bit where an uninterrupted fit ends.")
  add("dnn.models.load_model", "dnn.models.load_model(path, {custom_objects=, compile=true})",
    "A model from a Keras-layout .h5 file: architecture, weights, compile config and optimizer state.")
  add("dnn.models.model_from_json", "dnn.models.model_from_json(text, custom_objects)", "A model from to_json's text (fresh weights).")
end
