# CR2 cluster-robust covariance with Satterthwaite degrees of freedom (clubSandwich) on
# plm's Grunfeld data (200 rows: 10 firms x 20 years), clustered by firm.
# Run from this directory: Rscript grunfeld.R   (writes grunfeld.json)
suppressPackageStartupMessages({library(plm); library(clubSandwich); library(jsonlite)})
data("Grunfeld", package = "plm")
stopifnot(nrow(Grunfeld) == 200)

ct <- function(fit, cluster, ...) {
  V <- vcovCR(fit, cluster = cluster, type = "CR2", ...)
  t <- coef_test(fit, vcov = V, test = "Satterthwaite")
  list(term = t$Coef, estimate = unname(t$beta), std_error = unname(t$SE),
       df = unname(t$df_Satt), p_value = unname(t$p_Satt),
       vcov = unname(as.matrix(V)))
}
out <- list()

# 1. lm with year dummies, clustered by firm (the issue's target: value SE 0.01755280753)
fit_lm <- lm(inv ~ value + capital + factor(year), data = Grunfeld)
out$lm_year_dummies <- ct(fit_lm, Grunfeld$firm)
# with firm dummies (the dummy version of plm "within", effect "individual")
fit_lm_f <- lm(inv ~ value + capital + factor(firm), data = Grunfeld)
out$lm_firm_dummies <- ct(fit_lm_f, Grunfeld$firm)
fit_lm_fy <- lm(inv ~ value + capital + factor(firm) + factor(year), data = Grunfeld)
out$lm_firm_year_dummies <- ct(fit_lm_fy, Grunfeld$firm)

# 2. plm within models (cluster = firm, plm's individual index)
pg <- pdata.frame(Grunfeld, index = c("firm", "year"))
fit_w1 <- plm(inv ~ value + capital, data = pg, model = "within", effect = "individual")
out$plm_within_individual <- ct(fit_w1, "individual")
fit_w2 <- plm(inv ~ value + capital, data = pg, model = "within", effect = "twoways")
out$plm_within_twoways <- ct(fit_w2, "individual")

# 3. unbalanced subset: drop every row whose 1-based row number is a multiple of 7, and
#    keep only the first row (1935) of firm 10 (a single-observation cluster)
keep <- (seq_len(nrow(Grunfeld)) %% 7 != 0) & !(Grunfeld$firm == 10 & Grunfeld$year > 1935)
sub <- Grunfeld[keep, ]
out$unbalanced_n <- nrow(sub)
fit_u <- lm(inv ~ value + capital + factor(year), data = sub)
out$unbalanced_lm_year_dummies <- ct(fit_u, sub$firm)
psub <- pdata.frame(sub, index = c("firm", "year"))
fit_u2 <- plm(inv ~ value + capital, data = psub, model = "within", effect = "twoways")
out$unbalanced_plm_within_twoways <- ct(fit_u2, "individual")
fit_u3 <- lm(inv ~ value + capital + factor(firm) + factor(year), data = sub)
out$unbalanced_lm_firm_year_dummies <- ct(fit_u3, sub$firm)

# 4. weighted lm (analytic weights w = 1 + (row number mod 5)), year dummies
Grunfeld$w <- 1 + (seq_len(nrow(Grunfeld)) %% 5)
fit_wt <- lm(inv ~ value + capital + factor(year), data = Grunfeld, weights = w)
out$weighted_lm_year_dummies <- ct(fit_wt, Grunfeld$firm)
fit_wt0 <- lm(inv ~ value + capital, data = Grunfeld, weights = w)
out$weighted_lm <- ct(fit_wt0, Grunfeld$firm)

# 5. single-contrast Wald test of value - capital = 0 in the lm of (1)
p <- length(coef(fit_lm))
C <- matrix(0, 1, p); C[1, 2] <- 1; C[1, 3] <- -1
V1 <- vcovCR(fit_lm, cluster = Grunfeld$firm, type = "CR2")
w <- Wald_test(fit_lm, constraints = C, vcov = V1, test = "HTZ")
lc <- linear_contrast(fit_lm, vcov = V1, contrasts = C, test = "Satterthwaite", p_values = TRUE)
out$contrast_value_minus_capital <- list(
  Fstat = w$Fstat, df_num = w$df_num, df_denom = w$df_denom, p_value = w$p_val,
  estimate = lc$Est, std_error = lc$SE, df = lc$df, p_value_t = lc$p_val)
# 6. a joint (two-row) HTZ test, value = capital = 0
C2 <- matrix(0, 2, p); C2[1, 2] <- 1; C2[2, 3] <- 1
w2 <- Wald_test(fit_lm, constraints = C2, vcov = V1, test = "HTZ")
out$joint_value_capital <- list(Fstat = w2$Fstat, delta = w2$delta, df_num = w2$df_num,
                                df_denom = w2$df_denom, p_value = w2$p_val)

# 7. leverage one: row 1 fitted by its own dummy and alone in its cluster (cluster 99)
lev <- Grunfeld
lev$own <- as.numeric(seq_len(nrow(lev)) == 1)
lev$cl <- ifelse(seq_len(nrow(lev)) == 1, 99, lev$firm)
fit_lev <- lm(inv ~ value + capital + own, data = lev)
out$leverage_one <- ct(fit_lev, lev$cl)

out$versions <- list(R = R.version.string, clubSandwich = as.character(packageVersion("clubSandwich")),
                     plm = as.character(packageVersion("plm")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "grunfeld.json")
