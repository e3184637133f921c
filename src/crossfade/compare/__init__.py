"""Compare the saved runs of a sweep: per pair of targets and load level, the difference of each
metric with its bootstrap confidence interval, the crossover and saturation loads. Reads saved
results only (`bench.results`, `bench.sweep_index`); runs nothing."""
