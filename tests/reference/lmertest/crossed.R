# lmerTest 3.1-3 Satterthwaite df for crossed random intercepts (lme4's Penicillin and a
# generated receiver x sender design) and for a singular fit (a group variance at zero).
# Run from this directory: Rscript crossed.R  (writes crossed.csv, singular.csv, crossed.json)
suppressPackageStartupMessages(library(lmerTest))
source("json17.R")
data("Penicillin", package = "lme4")
stopifnot(nrow(Penicillin) == 144)

set.seed(20261207)
n <- 300
crossed <- data.frame(receiver = sample(sprintf("r%02d", 1:25), n, replace = TRUE),
                      sender = sample(sprintf("s%02d", 1:12), n, replace = TRUE))
crossed$x <- round(rnorm(n), 4)
w_r <- setNames(round(rnorm(25), 4), sprintf("r%02d", 1:25))
crossed$w <- unname(w_r[crossed$receiver])
u <- setNames(rnorm(25, sd = 0.7), sprintf("r%02d", 1:25))
v <- setNames(rnorm(12, sd = 0.5), sprintf("s%02d", 1:12))
crossed$y <- round(1 + 0.5 * crossed$x + 0.3 * crossed$w + u[crossed$receiver] +
                   v[crossed$sender] + rnorm(n), 4)
write.csv(crossed, "crossed.csv", row.names = FALSE)

# a random intercept whose variance REML puts at zero (lme4's isSingular)
for (seed in 1:200) {
  set.seed(seed)
  singular <- data.frame(g = rep(sprintf("g%d", 1:8), each = 5), x = round(rnorm(40), 4))
  singular$z <- round(rnorm(8)[as.integer(factor(singular$g))], 4)
  singular$y <- round(1 + 0.4 * singular$x + 0.2 * singular$z + rnorm(40), 4)
  if (isSingular(lmer(y ~ x + z + (1 | g), data = singular))) break
}
write.csv(singular, "singular.csv", row.names = FALSE)

fit_case <- function(formula, data, REML) {
  m <- lmer(formula, data = data, REML = REML)
  cf <- summary(m)$coefficients
  list(formula = paste(deparse(formula), collapse = ""), reml = REML,
       terms = rownames(cf), estimate = unname(cf[, "Estimate"]),
       std_error = unname(cf[, "Std. Error"]), df = unname(cf[, "df"]),
       t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"]),
       theta = as.list(getME(m, "theta")), sigma = sigma(m),
       singular = isSingular(m), vcov_varpar = unname(m@vcov_varpar))
}
rd <- read.csv("crossed.csv")
sg <- read.csv("singular.csv")
cases <- list(
  penicillin_reml = fit_case(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin, TRUE),
  penicillin_ml = fit_case(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin, FALSE),
  crossed_reml = fit_case(y ~ x + w + (1 | receiver) + (1 | sender), rd, TRUE),
  crossed_ml = fit_case(y ~ x + w + (1 | receiver) + (1 | sender), rd, FALSE),
  singular_reml = fit_case(y ~ x + z + (1 | g), sg, TRUE)
)
m <- lmer(y ~ x + w + (1 | receiver) + (1 | sender), data = rd)
f <- contest(m, rbind(c(0, 1, 0), c(0, 0, 1)), joint = TRUE)
cases$crossed_reml$joint_f <- list(L = rbind(c(0, 1, 0), c(0, 0, 1)), F = f[["F value"]],
                                   num_df = f$NumDF, den_df = f$DenDF, p = f[["Pr(>F)"]])
out <- list(source = "lmerTest 3.1-3 summary(lmer(...))$coefficients, contest(); lme4 1.1-31; R 4.2.2",
            singular_seed = seed, cases = cases)
write_json17(out, "crossed.json")
print(lapply(cases, function(x) x[c("terms", "df", "p", "singular")]))
