# lmerTest 3.1-3 Satterthwaite df for lme4's sleepstudy (and a quadratic model's joint F test).
# Run from this directory: Rscript sleepstudy.R  (writes sleepstudy.json)
suppressPackageStartupMessages(library(lmerTest))
source("json17.R")
data("sleepstudy", package = "lme4")
stopifnot(nrow(sleepstudy) == 180)

fit_case <- function(formula, data, REML) {
  m <- lmer(formula, data = data, REML = REML)
  cf <- summary(m)$coefficients
  list(
    formula = paste(deparse(formula), collapse = ""), reml = REML,
    terms = rownames(cf), estimate = unname(cf[, "Estimate"]),
    std_error = unname(cf[, "Std. Error"]), df = unname(cf[, "df"]),
    t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"]),
    theta = as.list(getME(m, "theta")), sigma = sigma(m),
    deviance = unname(if (REML) getME(m, "devcomp")$cmp[["REML"]] else deviance(m)),
    singular = isSingular(m),
    vcov_varpar = unname(m@vcov_varpar),
    jacobian = lapply(m@Jac_list, unname),
    model = m)
}

cases <- list(
  slope_reml = fit_case(Reaction ~ Days + (Days | Subject), sleepstudy, TRUE),
  intercept_reml = fit_case(Reaction ~ Days + (1 | Subject), sleepstudy, TRUE),
  slope_ml = fit_case(Reaction ~ Days + (Days | Subject), sleepstudy, FALSE),
  intercept_ml = fit_case(Reaction ~ Days + (1 | Subject), sleepstudy, FALSE),
  diagonal_reml = fit_case(Reaction ~ Days + (Days || Subject), sleepstudy, TRUE),
  quadratic_reml = fit_case(Reaction ~ Days + I(Days^2) + (Days | Subject), sleepstudy, TRUE)
)
# joint F tests (lmerTest's contestMD) and a one-row contrast (contest1D)
mq <- cases$quadratic_reml$model
L2 <- rbind(c(0, 1, 0), c(0, 0, 1))
f2 <- contest(mq, L2, joint = TRUE)
L1 <- c(0, 1, 1)
t1 <- contest(mq, L1, joint = FALSE)
cases$quadratic_reml$joint_f <- list(L = L2, F = f2[["F value"]], num_df = f2$NumDF,
                                     den_df = f2$DenDF, p = f2[["Pr(>F)"]])
cases$quadratic_reml$contrast_t <- list(L = L1, estimate = t1$Estimate,
                                        std_error = t1[["Std. Error"]], df = t1$df,
                                        p = t1[["Pr(>|t|)"]])
ms <- cases$slope_reml$model
fa <- contest(ms, diag(2), joint = TRUE)   # both fixed effects: eigen route, q = 2
cases$slope_reml$joint_f <- list(L = diag(2), F = fa[["F value"]], num_df = fa$NumDF,
                                 den_df = fa$DenDF, p = fa[["Pr(>F)"]])
for (k in names(cases)) cases[[k]]$model <- NULL
out <- list(source = "lmerTest 3.1-3 summary(lmer(...))$coefficients, contest(); lme4 1.1-31; R 4.2.2",
            n = nrow(sleepstudy), cases = cases)
write_json17(out, "sleepstudy.json")
print(lapply(cases, function(x) x[c("terms", "df", "p")]))
