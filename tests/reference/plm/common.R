# Shared by grunfeld.R, grunfeld_unbalanced.R and empluk.R: fits plm's random-effects
# methods and its within, between, first-difference and pooling estimators on one panel
# and writes the numbers as JSON (full precision) beside the calling script.
suppressPackageStartupMessages({library(plm); library(jsonlite)})

unit_theta <- function(th, ids) {
  # plm gives theta per observation for unbalanced panels, one number when balanced
  if (length(th) == 1L) return(as.list(setNames(rep(unname(th), length(unique(ids))), unique(ids))))
  as.list(tapply(unname(th), ids, function(v) v[1L]))
}

fit_numbers <- function(m, pd) {
  s <- summary(m)
  cf <- s$coefficients
  out <- list(
    terms = rownames(cf), estimate = unname(cf[, 1]), std_error = unname(cf[, 2]),
    statistic = unname(cf[, 3]), p_value = unname(cf[, 4]),
    statistic_law = colnames(cf)[3],
    df_residual = df.residual(m), nobs = nobs(m),
    r2 = unname(s$r.squared["rsq"]), r2_adj = unname(s$r.squared["adjrsq"]),
    ssr = deviance(m))
  if (plm:::describe(m, "model") == "random") {
    ec <- ercomp(m)
    out$sigma2_idios <- unname(ec$sigma2["idios"])
    out$sigma2_id <- unname(ec$sigma2["id"])
    ids <- index(pd)[[1L]]
    out$theta <- unit_theta(ec$theta, ids)
  }
  out
}

fit_all <- function(data, formula, index, case) {
  pd <- pdata.frame(data, index = index)
  res <- list(plm_version = as.character(packageVersion("plm")),
              r_version = R.version.string, formula = deparse(formula),
              nobs = nrow(data), n_units = length(unique(data[[index[1]]])),
              balanced = is.pbalanced(pd))
  for (method in c("swar", "amemiya", "walhus", "nerlove")) {
    m <- plm(formula, data = pd, model = "random", random.method = method)
    res[[paste0("random_", method)]] <- fit_numbers(m, pd)
  }
  ftime <- update(formula, . ~ . + factor(year))
  for (method in c("swar", "amemiya", "walhus", "nerlove")) {
    # plm stops when the between regression of the time dummies' unit means is
    # singular or has too few units: the error is kept in place of the numbers
    res[[paste0("random_", method, "_time_dummies")]] <- tryCatch(
      fit_numbers(plm(ftime, data = pd, model = "random", random.method = method), pd),
      error = function(e) list(error = conditionMessage(e)))
  }
  for (model in c("within", "between", "fd", "pooling")) {
    m <- plm(formula, data = pd, model = model)
    res[[model]] <- fit_numbers(m, pd)
  }
  writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), paste0(case, ".json"))
  invisible(res)
}
