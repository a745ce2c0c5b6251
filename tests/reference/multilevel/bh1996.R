# Reference numbers of R multilevel on bh1996, lq2002 and cohesion (see SOURCE.md).
# Run from this folder: Rscript bh1996.R  -> bh1996.json, bh1996.csv.gz, lq2002.csv.gz, cohesion.csv
suppressPackageStartupMessages(library(multilevel))
library(jsonlite)
data(bh1996, package = "multilevel")
data(lq2002, package = "multilevel")
data(cohesion, package = "multilevel")
stopifnot(nrow(bh1996) == 7382, nrow(lq2002) == 2042, nrow(cohesion) == 11)

# the exported data (only the columns the tests use)
bh <- bh1996[, c("GRP", "COHES", "LEAD", "HRS", "WBEING")]
con <- gzfile("bh1996.csv.gz", "w"); write.csv(bh, con, row.names = FALSE); close(con)
lq <- lq2002[, c("COMPID", paste0("LEAD", sprintf("%02d", 1:11)), "TSIG01", "TSIG02", "TSIG03")]
con <- gzfile("lq2002.csv.gz", "w"); write.csv(lq, con, row.names = FALSE); close(con)
write.csv(cohesion, "cohesion.csv", row.names = FALSE)

icc <- function(y, g) {
  fit <- aov(y ~ as.factor(g))
  tab <- summary(fit)[[1]]
  list(icc1 = ICC1(fit), icc2 = ICC2(fit), F = tab[1, 4], df1 = tab[1, 1], df2 = tab[2, 1],
       msb = tab[1, 3], msw = tab[2, 3])
}
# F-based intervals (the formula of ipnstats, written out in R): k0 = (N - sum n_j^2 / N) / (J - 1)
ci <- function(y, g, level = 0.95) {
  n <- table(g); N <- sum(n); J <- length(n)
  k0 <- (N - sum(n^2) / N) / (J - 1)
  r <- icc(y, g); a <- (1 - level) / 2
  FL <- r$F / qf(1 - a, r$df1, r$df2); FU <- r$F * qf(1 - a, r$df2, r$df1)
  list(k0 = k0, icc1_low = (FL - 1) / (FL + k0 - 1), icc1_high = (FU - 1) / (FU + k0 - 1),
       icc2_low = 1 - 1 / FL, icc2_high = 1 - 1 / FU)
}
out <- list()
for (v in c("WBEING", "HRS", "LEAD", "COHES")) out$icc[[v]] <- c(icc(bh1996[[v]], bh1996$GRP), ci(bh1996[[v]], bh1996$GRP))

# rwg of one item per group (ranvar = 2, a 5-point uniform null); summaries
r1 <- rwg(lq2002$LEAD01, lq2002$COMPID, ranvar = 2)
out$rwg_lead01 <- list(grpid = as.character(r1$grpid), rwg = r1$rwg, gsize = r1$gsize)
items <- paste0("LEAD", sprintf("%02d", 1:11))
rj <- rwg.j(lq2002[, items], lq2002$COMPID, ranvar = 2)
out$rwgj_lead <- list(grpid = as.character(rj$grpid), rwg_j = rj$rwg.j, gsize = rj$gsize,
                      mean = mean(rj$rwg.j), median = median(rj$rwg.j),
                      share_70 = mean(rj$rwg.j > 0.70))
# a skewed null: LeBreton & Senter (2008) slight skew, 5 points, 1.34
rjs <- rwg.j(lq2002[, items], lq2002$COMPID, ranvar = 1.34)
out$rwgj_lead_slight <- list(rwg_j = rjs$rwg.j)
tsig <- c("TSIG01", "TSIG02", "TSIG03")
rjt <- rwg.j(lq2002[, tsig], lq2002$COMPID, ranvar = 2)
out$rwgj_tsig <- list(rwg_j = rjt$rwg.j)
am <- ad.m(lq2002[, items], lq2002$COMPID)
amd <- ad.m(lq2002[, items], lq2002$COMPID, type = "median")
out$adm_lead <- list(mean = am$AD.M, median = amd$AD.M, gsize = am$gsize)
a1 <- ad.m(lq2002$LEAD01, lq2002$COMPID)
out$adm_lead01 <- list(mean = a1$AD.M)
# ICC of the LEAD items in lq2002 (per item)
for (v in items[1:3]) out$icc_lq[[v]] <- icc(lq2002[[v]], lq2002$COMPID)

# bh1996 scales as single 'items' (rwg of HRS is not a Likert item; LEAD and WBEING are 1-5 means)
rl <- rwg(bh1996$LEAD, bh1996$GRP, ranvar = 2)
out$rwg_bh_lead <- list(grpid = as.character(rl$grpid), rwg = rl$rwg)
rjb <- rwg.j(bh1996[, c("LEAD", "COHES", "WBEING")], bh1996$GRP, ranvar = 2)
out$rwgj_bh <- list(rwg_j = rjb$rwg.j)
amb <- ad.m(bh1996[, c("LEAD", "COHES", "WBEING")], bh1996$GRP)
out$adm_bh <- list(mean = amb$AD.M)

# missing values: cohesion has one NA (row 2, COH02); multilevel drops the whole row (na.exclude)
coh <- paste0("COH0", 1:5)
rc <- rwg.j(cohesion[, coh], cohesion$UNIT, ranvar = 2)
out$cohesion <- list(grpid = as.character(rc$grpid), rwg_j = rc$rwg.j, gsize = rc$gsize,
                     adm = ad.m(cohesion[, coh], cohesion$UNIT)$AD.M,
                     rwg_coh02 = rwg(cohesion$COH02, cohesion$UNIT, ranvar = 2)$rwg,
                     rwgj_platoon = rwg.j(cohesion[, coh], paste(cohesion$UNIT, cohesion$PLATOON), ranvar = 2)$rwg.j)
out$versions <- list(R = R.version.string, multilevel = as.character(packageVersion("multilevel")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), "bh1996.json")
