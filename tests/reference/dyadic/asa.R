# Aronow, Samii & Assenova (2015) dyadic-robust covariance by their multiway
# decomposition sum_i V_Ci - V_D - (N - 2) V_0 (as R dyadRobust computes it), each term an
# unadjusted R sandwich covariance, on deterministic exchange data (no random numbers:
# tests/inference/test_dyadic.py builds the same rows).
library(sandwich)
library(jsonlite)

i <- 1:300
d <- data.frame(sender = (i * 7) %% 23, receiver = (i * 11 + 3) %% 23, i = i)
d <- d[d$sender != d$receiver, ]
d$x <- sin(d$i)
d$w <- cos(1.3 * d$i)
d$y <- 0.5 * d$x + sin(d$sender) + cos(d$receiver) + sin(2.1 * d$i)
d$z <- as.numeric(d$y > 0.3)
stopifnot(nrow(d) == 287)

asa <- function(fit) {
  nodes <- sort(unique(c(d$sender, d$receiver)))
  rows <- seq_len(nrow(d))
  total <- Reduce(`+`, lapply(nodes, function(k) {
    involved <- d$sender == k | d$receiver == k
    vcovCL(fit, cluster = ifelse(involved, 0L, rows), type = "HC0", cadjust = FALSE)
  }))
  pair <- paste(pmin(d$sender, d$receiver), pmax(d$sender, d$receiver))
  v_d <- vcovCL(fit, cluster = pair, type = "HC0", cadjust = FALSE)
  v_0 <- vcovHC(fit, type = "HC0")
  v <- total - v_d - (length(nodes) - 2) * v_0
  list(term = names(coef(fit)), estimate = unname(coef(fit)),
       std_error = unname(sqrt(diag(v))), vcov = unname(v), n_nodes = length(nodes),
       nobs = nrow(d))
}

out <- list(ols = asa(lm(y ~ x * w, data = d)),
            logit = asa(glm(z ~ x * w, family = binomial, data = d,
                            control = glm.control(epsilon = 1e-14, maxit = 100))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "asa.json")
