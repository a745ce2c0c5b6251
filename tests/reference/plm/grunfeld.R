# Rscript grunfeld.R (run in this folder): plm's Grunfeld, balanced, 10 firms x 20 years.
source("common.R")
data("Grunfeld", package = "plm")
stopifnot(nrow(Grunfeld) == 200L)
fit_all(Grunfeld, inv ~ value + capital, c("firm", "year"), "grunfeld")
