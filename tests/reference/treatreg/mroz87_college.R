# Endogenous binary treatment (Maddala 1983; Stata etregress, sampleSelection::treatReg)
# on Mroz (1987) data: the effect of the wife's college on log family income, with her
# parents' education excluded from the outcome equation. sampleSelection is not installed
# here (no Debian package), so both estimators are written out: the two-step (probit by
# glm, least squares with the probit's generalized residual, Heckman's corrected
# covariance) and the maximum likelihood (the likelihood and its gradient maximised with
# maxLik's Newton-Raphson, numerical Hessian of the gradient, covariance its inverse).
# Data: AER's PSID1976 (= sampleSelection's Mroz87, 753 rows).
suppressMessages({library(AER); library(maxLik); library(jsonlite)})
data("PSID1976", package = "AER")
d <- PSID1976
stopifnot(nrow(d) == 753)
D <- as.numeric(d$college == "yes")
Z <- cbind(1, d$meducation, d$feducation, d$age, as.numeric(d$city == "yes"), d$youngkids)
X <- cbind(1, D, d$age, as.numeric(d$city == "yes"), d$youngkids)
y <- log(d$fincome)
p <- ncol(Z); k <- ncol(X); n <- length(y)
mills <- function(z) exp(dnorm(z, log = TRUE) - pnorm(z, log.p = TRUE))
# two-step
pr <- glm(D ~ Z - 1, family = binomial(link = "probit"), control = list(epsilon = 1e-14,
          maxit = 100))
g <- coef(pr); idx <- drop(Z %*% g)
# the probit's covariance is the inverse observed information (Stata's probit, OIM), not
# glm's expected information
qi <- (2 * D - 1) * idx; w <- mills(qi) * (mills(qi) + qi)
Vg <- solve(t(Z * w) %*% Z)
h <- ifelse(D == 1, mills(idx), -mills(-idx))
dl <- h * (h + idx)
Xs <- cbind(X, h)
ols <- lm(y ~ Xs - 1)
b <- coef(ols); e <- resid(ols)
sigma2 <- sum(e^2) / n + mean(dl) * b[k + 1]^2
rho <- b[k + 1] / sqrt(sigma2)
B <- solve(crossprod(Xs)); F <- t(Xs * dl) %*% Z
V <- sigma2 * B %*% (t(Xs * (1 - rho^2 * dl)) %*% Xs + rho^2 * F %*% Vg %*% t(F)) %*% B
names2 <- c("Intercept", "college", "age", "city", "kids5", "lambda",
            paste0("treatment::", c("Intercept", "motheduc", "fatheduc", "age", "city", "kids5")))
est2 <- c(b, g); se2 <- c(sqrt(diag(V)), sqrt(diag(Vg)))
names(est2) <- names(se2) <- names2
# maximum likelihood in (gamma, beta, sigma, rho)
q <- 2 * D - 1
loglik <- function(th) {
  gg <- th[1:p]; bb <- th[p + 1:k]; s <- th[p + k + 1]; r0 <- th[p + k + 2]
  r <- (y - drop(X %*% bb)) / s
  pnorm(q * (drop(Z %*% gg) + r0 * r) / sqrt(1 - r0^2), log.p = TRUE) - log(s) +
    dnorm(r, log = TRUE)
}
gradlik <- function(th) {
  gg <- th[1:p]; bb <- th[p + 1:k]; s <- th[p + k + 1]; r0 <- th[p + k + 2]
  eg <- drop(Z %*% gg); r <- (y - drop(X %*% bb)) / s; root <- sqrt(1 - r0^2)
  m <- q * mills(q * (eg + r0 * r) / root)
  cbind((m / root) * Z, (r / s - m * r0 / (s * root)) * X,
        (-m * r0 * r / root - 1 + r^2) / s, m * (r + r0 * eg) / root^3)
}
start <- c(g, b[1:k], sqrt(sigma2), max(min(rho, 0.9), -0.9))
fit <- maxLik(loglik, gradlik, start = start, method = "NR", iterlim = 500,
              tol = 1e-12, reltol = 1e-14, gradtol = 1e-10)
th <- coef(fit); Vml <- vcov(fit)
ord <- c(p + 1:(k + 2), 1:p)
estml <- th[ord]; seml <- sqrt(diag(Vml))[ord]
names(estml) <- names(seml) <- c(names2[1:k], "sigma", "rho", names2[(k + 2):(k + 1 + p)])
# LR test of rho = 0: probit plus normal least squares
indep <- logLik(pr)[1] + logLik(lm(y ~ X - 1), REML = FALSE)[1]
cat(toJSON(list(case = "Mroz (1987): log family income on the wife's college, endogenous",
                n = n, n_treated = sum(D),
                twostep = list(estimate = as.list(est2), std_error = as.list(se2),
                               sigma = sqrt(sigma2), rho = unname(rho)),
                ml = list(code = fit$code, message = fit$message, loglik = logLik(fit)[1],
                          estimate = as.list(estml), std_error = as.list(seml),
                          lr_rho = 2 * (logLik(fit)[1] - indep))),
           digits = NA, auto_unbox = TRUE, pretty = TRUE), "\n")
