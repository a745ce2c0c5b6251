# Rscript grunfeld_unbalanced.R (run in this folder): plm's Grunfeld without every
# seventh row (rows 3, 10, 17, ..., 199 in the shipped order): 171 rows, unbalanced,
# with gaps inside firms.
source("common.R")
data("Grunfeld", package = "plm")
stopifnot(nrow(Grunfeld) == 200L)
g <- Grunfeld[-seq(3L, 200L, by = 7L), ]
stopifnot(nrow(g) == 171L)
fit_all(g, inv ~ value + capital, c("firm", "year"), "grunfeld_unbalanced")
