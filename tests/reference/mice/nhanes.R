# Rubin's rules, D1 and pooled R-squared on mice's nhanes (25 rows), m = 5, seed 123.
# Run in this folder: Rscript nhanes.R  (writes nhanes.json)
suppressPackageStartupMessages({library(mice); library(jsonlite)})
stopifnot(nrow(nhanes) == 25)
imp <- mice(nhanes, m = 5, seed = 123, printFlag = FALSE)
fit <- with(imp, lm(chl ~ age + bmi))
fit_age <- with(imp, lm(chl ~ age))
fit_null <- with(imp, lm(chl ~ 1))
pooled <- pool(fit)
p <- pooled$pooled
s <- summary(pooled, conf.int = TRUE)
per_fit <- lapply(fit$analyses, function(f) list(
  estimate = unname(coef(f)), std_error = unname(sqrt(diag(vcov(f)))),
  vcov = unname(vcov(f)), df_residual = df.residual(f),
  r_squared = summary(f)$r.squared, adj_r_squared = summary(f)$adj.r.squared,
  nobs = nobs(f)))
d1 <- function(x) list(F = x$result[1, 1], df1 = x$result[1, 2], df2 = x$result[1, 3],
                       p_value = x$result[1, 4], riv = x$result[1, 5], dfcom = x$dfcom)
r2 <- pool.r.squared(fit)
r2a <- pool.r.squared(fit, adjusted = TRUE)
completed <- lapply(1:5, function(i) as.list(complete(imp, i)))
out <- list(
  mice_version = as.character(packageVersion("mice")),
  r_version = R.version.string,
  terms = as.character(p$term), m = 5, seed = 123,
  data = as.list(nhanes), completed = completed,
  fits = per_fit,
  pool = list(estimate = p$estimate, ubar = p$ubar, b = p$b, t = p$t, dfcom = p$dfcom,
              df = p$df, riv = p$riv, lambda = p$lambda, fmi = p$fmi,
              std_error = s$std.error, statistic = s$statistic, p_value = s$p.value,
              conf_low = s[["2.5 %"]], conf_high = s[["97.5 %"]]),
  r_squared = list(est = r2[1, 1], lo95 = r2[1, 2], hi95 = r2[1, 3], fmi = r2[1, 4]),
  adj_r_squared = list(est = r2a[1, 1], lo95 = r2a[1, 2], hi95 = r2a[1, 3], fmi = r2a[1, 4]),
  d1_bmi = d1(D1(fit, fit_age)),
  d1_age_bmi = d1(D1(fit, fit_null)),
  d1_all_zero = d1(D1(fit))
)
print(pooled)
print(s)
print(r2)
print(D1(fit, fit_age)); print(D1(fit, fit_null))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), "nhanes.json")
