# lmerTest 3.1-3 with pbkrtest 0.5.2: Kenward-Roger adjusted SEs and df of the fixed effects
# (summary(m, ddf = "Kenward-Roger")), REML fits of sleepstudy, Penicillin and crossed.csv.
# Run from this directory after crossed.R: Rscript kenward_roger.R  (writes kenward_roger.json)
suppressPackageStartupMessages(library(lmerTest))
source("json17.R")
data("sleepstudy", package = "lme4")
data("Penicillin", package = "lme4")
stopifnot(nrow(sleepstudy) == 180, nrow(Penicillin) == 144)
crossed <- read.csv("crossed.csv")
stopifnot(nrow(crossed) == 300)

kr_case <- function(formula, data) {
  m <- lmer(formula, data = data, REML = TRUE)
  cf <- summary(m, ddf = "Kenward-Roger")$coefficients
  list(formula = paste(deparse(formula), collapse = ""), reml = TRUE,
       terms = rownames(cf), estimate = unname(cf[, "Estimate"]),
       std_error = unname(cf[, "Std. Error"]), df = unname(cf[, "df"]),
       t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"]),
       theta = as.list(getME(m, "theta")), sigma = sigma(m),
       vcov_adjusted = unname(as.matrix(pbkrtest::vcovAdj(m))))
}
cases <- list(
  slope_reml = kr_case(Reaction ~ Days + (Days | Subject), sleepstudy),
  intercept_reml = kr_case(Reaction ~ Days + (1 | Subject), sleepstudy),
  diagonal_reml = kr_case(Reaction ~ Days + (Days || Subject), sleepstudy),
  quadratic_reml = kr_case(Reaction ~ Days + I(Days^2) + (Days | Subject), sleepstudy),
  penicillin_reml = kr_case(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin),
  crossed_reml = kr_case(y ~ x + w + (1 | receiver) + (1 | sender), crossed)
)
out <- list(source = "lmerTest 3.1-3 summary(lmer(...), ddf = 'Kenward-Roger'); pbkrtest 0.5.2 vcovAdj; lme4 1.1-31; R 4.2.2",
            cases = cases)
write_json17(out, "kenward_roger.json")
print(lapply(cases, function(x) x[c("terms", "std_error", "df", "p")]))
