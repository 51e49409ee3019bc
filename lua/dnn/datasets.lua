-- dnn.datasets: standard datasets from their Debian packages.
local datasets = {}
return datasets
