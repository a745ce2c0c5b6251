# Confirmatory factor analysis references (lavaan 0.6, semTools) on Holzinger & Swineford (1939),
# lavaan::HolzingerSwineford1939 (301 rows; the same rows, in order, as
# semopy.examples.holzinger39.get_data()). Run from this directory: Rscript hs39.R
# (writes one <case>.json per case below, numbers at full precision).
suppressPackageStartupMessages({library(lavaan); library(semTools); library(jsonlite)})
HS <- lavaan::HolzingerSwineford1939
stopifnot(nrow(HS) == 301)
items <- paste0("x", 1:9)
hs_model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"

versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
                 semTools = as.character(packageVersion("semTools")))
fm <- function(fit) as.list(fitMeasures(fit))
pe <- function(fit) {
  p <- parameterEstimates(fit, standardized = TRUE)
  if (is.null(p$group)) p$group <- 1L
  as.list(p[, c("lhs", "op", "rhs", "group", "est", "se", "z", "pvalue", "ci.lower",
                "ci.upper", "std.lv", "std.all")])
}
case <- function(fit, ...) c(list(fit = fm(fit), par = pe(fit), npar = fit@Fit@npar,
                                  converged = lavInspect(fit, "converged")), list(...))
rel <- function(fit) list(omega = as.list(compRelSEM(fit)), ave = as.list(AVE(fit)))
lrt <- function(...) {
  t <- as.data.frame(lavTestLRT(...))
  list(df = t$Df, chisq = t$Chisq, chisq_diff = t[["Chisq diff"]], df_diff = t[["Df diff"]],
       p_diff = t[["Pr(>Chisq)"]])
}
write <- function(x, name) writeLines(toJSON(c(x, list(versions = versions)), digits = NA,
                                            auto_unbox = TRUE, pretty = TRUE, na = "null"),
                                      paste0(name, ".json"))

# 1. ML (lavaan defaults: likelihood "normal" = N divisor, expected information) + data check
fit_ml <- cfa(hs_model, data = HS)
write(c(case(fit_ml), rel(fit_ml),
        list(data = c(list(id = HS$id), as.list(HS[, items])))), "hs_ml")

# 2. MLR (Huber-White with observed information, Yuan-Bentler-Mplus scaled test)
fit_mlr <- cfa(hs_model, data = HS, estimator = "MLR")
write(case(fit_mlr, options = lavInspect(fit_mlr, "options")[c("information", "h1.information",
      "observed.information", "meanstructure", "se", "test")]), "hs_mlr")

# 3. std.lv = TRUE
fit_stdlv <- cfa(hs_model, data = HS, std.lv = TRUE)
write(c(case(fit_stdlv), rel(fit_stdlv)), "hs_stdlv")

# 4. a cross-loading (x9 on visual) and a correlated residual (x2 ~~ x3); LRT against (1)
cross_model <- "visual =~ x1 + x2 + x3 + x9
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
x2 ~~ x3"
fit_cross <- cfa(cross_model, data = HS)
fit_cross_mlr <- cfa(cross_model, data = HS, estimator = "MLR")
write(case(fit_cross, lrt_ml = lrt(fit_cross, fit_ml),
           lrt_mlr = lrt(fit_cross_mlr, fit_mlr), fit_mlr = fm(fit_cross_mlr)), "hs_cross")

# 5. measurement invariance by school (configural, metric, scalar, strict), ML
lv <- list(configural = c(), metric = c("loadings"), scalar = c("loadings", "intercepts"),
           strict = c("loadings", "intercepts", "residuals"))
fits <- lapply(lv, function(eq) if (length(eq)) {
  cfa(hs_model, data = HS, group = "school", group.equal = eq)
} else cfa(hs_model, data = HS, group = "school"))
cf <- compareFit(fits$configural, fits$metric, fits$scalar, fits$strict, nested = TRUE)
write(list(groups = as.character(unique(HS$school)), levels = names(lv),
           fit = lapply(fits, fm), par = lapply(fits, pe),
           lrt = lrt(fits$configural, fits$metric, fits$scalar, fits$strict),
           compare_fit = as.list(cf@fit)), "hs_invariance")

# 6. Harman's single-factor test: one factor on all nine items
fit_h <- cfa(paste("general =~", paste(items, collapse = " + ")), data = HS)
ev <- eigen(cor(HS[, items]))$values
write(case(fit_h, first_component_share = ev[1] / length(items),
           first_factor_share = mean(standardizedSolution(fit_h)$est.std[1:9]^2)), "hs_harman")

# 7. unmeasured latent method construct: the trait model plus one method factor on every
#    item with equal loadings (all 1, its variance free), orthogonal to the traits; LRT against (1)
ulmc_model <- paste(hs_model, "; method =~ ", paste0("1*", items, collapse = " + "),
                    "; method ~~ 0*visual + 0*textual + 0*speed")
fit_u <- cfa(ulmc_model, data = HS)
write(case(fit_u, lrt = lrt(fit_u, fit_ml)), "hs_ulmc")

# 8. FIML (missing = "ml") with values removed by a rule on the 1-based row number r:
#    x1 when r %% 7 == 0, x5 when r %% 11 == 0, x9 when r %% 13 == 3, x2 and x3 when r %% 17 == 5
HSm <- HS
r <- seq_len(nrow(HSm))
HSm$x1[r %% 7 == 0] <- NA; HSm$x5[r %% 11 == 0] <- NA; HSm$x9[r %% 13 == 3] <- NA
HSm$x2[r %% 17 == 5] <- NA; HSm$x3[r %% 17 == 5] <- NA
fit_f <- cfa(hs_model, data = HSm, missing = "ml")
write(case(fit_f, n_missing = sum(is.na(HSm[, items])),
           options = lavInspect(fit_f, "options")[c("information", "h1.information",
           "observed.information", "meanstructure", "se", "test")]), "hs_fiml")

# 9. FIML with MLR (robust SEs and the Yuan-Bentler-Mplus test under missing = "ml")
fit_fr <- cfa(hs_model, data = HSm, missing = "ml", estimator = "MLR")
write(case(fit_fr, options = lavInspect(fit_fr, "options")[c("information", "h1.information",
      "observed.information", "meanstructure", "se", "test")]), "hs_fiml_mlr")

# 10. std.lv = TRUE across schools with equal loadings and intercepts (lavaan frees the
#     factor variances of the second group)
fit_sg <- cfa(hs_model, data = HS, group = "school", std.lv = TRUE,
              group.equal = c("loadings", "intercepts"))
write(case(fit_sg), "hs_stdlv_groups")

# 11. measurement invariance by school under MLR (lavTestLRT: Satorra-Bentler 2001)
fits_r <- lapply(lv, function(eq) if (length(eq)) {
  cfa(hs_model, data = HS, group = "school", group.equal = eq, estimator = "MLR")
} else cfa(hs_model, data = HS, group = "school", estimator = "MLR"))
write(list(levels = names(lv), fit = lapply(fits_r, fm),
           lrt = lrt(fits_r$configural, fits_r$metric, fits_r$scalar, fits_r$strict)),
      "hs_invariance_mlr")
