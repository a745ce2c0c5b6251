# Rscript empluk.R (run in this folder): plm's EmplUK (Arellano and Bond's UK firms),
# unbalanced: 140 firms, 7 to 9 years, 1031 rows, no gaps inside firms.
source("common.R")
data("EmplUK", package = "plm")
stopifnot(nrow(EmplUK) == 1031L)
EmplUK$lemp <- log(EmplUK$emp)
EmplUK$lwage <- log(EmplUK$wage)
EmplUK$lcapital <- log(EmplUK$capital)
fit_all(EmplUK, lemp ~ lwage + lcapital, c("firm", "year"), "empluk")
