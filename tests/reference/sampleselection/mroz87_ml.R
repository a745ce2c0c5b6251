# Tobit-2 (Heckman) maximum likelihood on Greene (2003) Example 22.8's model, Mroz (1987)
# data, as sampleSelection::selection(..., method = "ml") fits it. sampleSelection is not
# installed here (no Debian package), so the likelihood is written out and maximised with
# maxLik (Newton-Raphson, analytic gradient, numerical Hessian of that gradient): the same
# engine sampleSelection uses. Data: AER's PSID1976 (= sampleSelection's Mroz87).
suppressMessages({library(AER); library(maxLik); library(jsonlite)})
data("PSID1976", package = "AER")
d <- PSID1976
stopifnot(nrow(d) == 753)
d$lfp <- as.numeric(d$participation == "yes")
d$kids <- as.numeric(d$youngkids + d$oldkids > 0)
d$city <- as.numeric(d$city == "yes")
W <- cbind(1, d$age, d$age^2, d$fincome, d$kids, d$education)
X <- cbind(1, d$experience, d$experience^2, d$education, d$city)
s <- d$lfp; y <- d$wage
p <- ncol(W); k <- ncol(X)
mills <- function(z) exp(dnorm(z, log = TRUE) - pnorm(z, log.p = TRUE))
loglik <- function(th) {
  g <- th[1:p]; b <- th[p + 1:k]; sigma <- th[p + k + 1]; rho <- th[p + k + 2]
  eg <- drop(W %*% g); r <- (y - drop(X %*% b)) / sigma
  z <- (eg + rho * r) / sqrt(1 - rho^2)
  ifelse(s == 0, pnorm(-eg, log.p = TRUE),
         pnorm(z, log.p = TRUE) - log(sigma) + dnorm(r, log = TRUE))
}
gradlik <- function(th) {
  g <- th[1:p]; b <- th[p + 1:k]; sigma <- th[p + k + 1]; rho <- th[p + k + 2]
  eg <- drop(W %*% g); r <- (y - drop(X %*% b)) / sigma; root <- sqrt(1 - rho^2)
  z <- (eg + rho * r) / root; m <- mills(z); m0 <- mills(-eg)
  r[s == 0] <- 0
  G <- cbind(ifelse(s == 0, -m0, m / root) * W,
             ifelse(s == 0, 0, r / sigma - m * rho / (sigma * root)) * X,
             ifelse(s == 0, 0, (-m * rho * r / root - 1 + r^2) / sigma),
             ifelse(s == 0, 0, m * (r + rho * eg) / root^3))
  G
}
start <- c(-4.157, 0.1854, -0.002426, 4.58e-06, -0.449, 0.0982,
           -0.971, 0.0211, 0.000137, 0.417, 0.444, 3.2, -0.343)
fit <- maxLik(loglik, gradlik, start = start, method = "NR", iterlim = 500,
              tol = 1e-12, reltol = 1e-14, gradtol = 1e-10)
est <- coef(fit); se <- sqrt(diag(vcov(fit)))
names(est) <- names(se) <- c(paste0("selection::", c("Intercept", "age", "I(age ** 2)",
  "faminc", "kids", "educ")), "Intercept", "exper", "I(exper ** 2)", "educ", "city",
  "sigma", "rho")
cat(toJSON(list(case = "Greene (2003) Example 22.8, ML, Mroz (1987) data",
                code = fit$code, message = fit$message, loglik = logLik(fit)[1],
                estimate = as.list(est), std_error = as.list(se)),
           digits = NA, auto_unbox = TRUE, pretty = TRUE), "\n")
