-- A first look at Fashion-MNIST before training anything: how many examples
-- of each class, and what the pixel values look like.  Everything is
-- computed with tensor ops over the whole training set (47 million pixels),
-- not Lua loops, so it runs in a second or two.
--
--   scripts/dnnlua examples/fashion_mnist_explore.lua [dataset-dir]
--   lua5.4 examples/fashion_mnist_explore.lua [dataset-dir]   (with scripts/env.sh sourced)
--
-- The data comes from the Debian package dataset-fashion-mnist.  Each
-- report line is "label: value(s)" so spec/examples_spec.lua can read the
-- numbers back and compare them with numpy's (spec/fixtures/
-- fashion_mnist_stats.lua).  Required as a module it prints nothing and
-- returns {explore = function(dir) -> table of the numbers, report = ...}.
local dnn = require "dnn"

local function explore(dir)
  local data = dnn.datasets.fashion_mnist(dir)
  local train, test = data.train, data.test
  local s = {class_names = data.class_names, dir = dir}

  local xs = train.x:size()
  s.train_shape, s.test_shape = xs, test.x:size()
  s.pixels_per_image = xs[2] * xs[3]
  s.train_n, s.test_n = xs[1], s.test_shape[1]

  -- labels are int64 class ids 0..9: count each with eq + sum
  s.train_counts, s.test_counts = {}, {}
  for c = 0, 9 do
    s.train_counts[c + 1] = train.y:eq(c):sum():item()
    s.test_counts[c + 1] = test.y:eq(c):sum():item()
  end

  -- uint8 sums accumulate in int64, so the totals are exact
  local n_pixels = s.train_n * s.pixels_per_image
  s.train_pixel_sum = train.x:sum():item()
  s.test_pixel_sum = test.x:sum():item()
  s.train_pixel_mean = s.train_pixel_sum / n_pixels
  s.test_pixel_mean = s.test_pixel_sum / (s.test_n * s.pixels_per_image)
  s.train_pixel_std = train.x:float():std():item() -- unbiased (n - 1), as torch
  s.train_pixel_min = train.x:min():item()
  s.train_pixel_max = train.x:max():item()
  s.train_zero_fraction = train.x:eq(0):sum():item() / n_pixels
  s.test_zero_fraction = test.x:eq(0):sum():item() / (s.test_n * s.pixels_per_image)

  -- per-class mean intensity: each image's pixel sum, masked by class
  local image_sums = train.x:view(s.train_n, -1):sum(2) -- (60000,) int64
  s.train_class_mean = {}
  for c = 0, 9 do
    local class_sum = (image_sums * train.y:eq(c)):sum():item()
    s.train_class_mean[c + 1] = class_sum / (s.train_counts[c + 1] * s.pixels_per_image)
  end
  return s
end

local function report(s)
  local function shape(t) return table.concat(t, "x") end
  print(("Fashion-MNIST from %s"):format(s.dir or "/usr/share/datasets/fashion-mnist"))
  print(("train images: %s"):format(shape(s.train_shape)))
  print(("test images: %s"):format(shape(s.test_shape)))
  print()
  print("examples per class (train, test) and the class's mean pixel (train, 0..255):")
  for c = 0, 9 do
    print(("class %d: %6d %6d %12.6f  %s"):format(c, s.train_counts[c + 1], s.test_counts[c + 1],
      s.train_class_mean[c + 1], s.class_names[c + 1]))
  end
  print()
  print("pixel values over the training set (0..255):")
  print(("pixel sum: %d"):format(s.train_pixel_sum))
  print(("pixel mean: %.6f"):format(s.train_pixel_mean))
  print(("pixel std: %.6f"):format(s.train_pixel_std))
  print(("pixel min: %d"):format(s.train_pixel_min))
  print(("pixel max: %d"):format(s.train_pixel_max))
  print(("zero fraction: %.6f"):format(s.train_zero_fraction))
  print()
  print("test set, for comparison:")
  print(("test pixel sum: %d"):format(s.test_pixel_sum))
  print(("test pixel mean: %.6f"):format(s.test_pixel_mean))
  print(("test zero fraction: %.6f"):format(s.test_zero_fraction))
  print()
  print(("Half the pixels are background (0); scale with x:float() / 255 "
    .. "(mean %.4f, std %.4f after scaling)."):format(s.train_pixel_mean / 255, s.train_pixel_std / 255))
end

-- Run as a script when this file is the one lua5.4 or dnnlua was given
-- (arg[0]); otherwise (require, dofile from the REPL) hand back the functions.
local source = debug.getinfo(1, "S").source
if not (arg and arg[0] and source == "@" .. arg[0]) then
  return {explore = explore, report = report}
end
report(explore(arg[1]))
