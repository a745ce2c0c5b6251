# Cohen's kappa by psych::cohen.kappa on two raters' 1-5 ratings (see SOURCE.md).
# Run from this folder: Rscript kappa.R -> kappa_ratings.csv, kappa.json
suppressPackageStartupMessages(library(psych))
library(jsonlite)
set.seed(20261207)
n <- 60
truth <- sample(1:5, n, replace = TRUE, prob = c(.1, .2, .3, .25, .15))
r1 <- pmin(5, pmax(1, truth + sample(c(-1, 0, 0, 0, 1), n, replace = TRUE)))
r2 <- pmin(5, pmax(1, truth + sample(c(-2, -1, 0, 0, 1), n, replace = TRUE)))
r2[c(4, 17)] <- NA  # two missing ratings
ratings <- data.frame(rater1 = r1, rater2 = r2)
write.csv(ratings, "kappa_ratings.csv", row.names = FALSE)
cc <- ratings[complete.cases(ratings), ]
k <- 5
d <- outer(1:k, 1:k, "-")
# psych takes agreement weights (trace > 0) or disagreement weights (trace 0, used here)
w_lin <- abs(d) / (k - 1)
w_quad <- d^2 / (k - 1)^2
q <- cohen.kappa(cc)                                  # unweighted and quadratic (psych default)
l <- cohen.kappa(cc, w = w_lin)
qq <- cohen.kappa(cc, w = w_quad)
# the 2 x 2 case and a case where a category is used by one rater only
tab <- data.frame(a = c(1, 1, 2, 2, 2, 1, 2, 2), b = c(1, 2, 2, 2, 1, 1, 2, 2))
t2 <- cohen.kappa(tab)
out <- list(n = nrow(cc), unweighted = q$kappa, quadratic = q$weighted.kappa,
            linear = l$weighted.kappa, quadratic_explicit = qq$weighted.kappa,
            var_unweighted = q$var.kappa, confid = unname(q$confid[1, ]),
            # psych's weighted variance, kept for the record: it differs from Fleiss, Cohen &
            # Everitt (1969) (its column-weighted mean multiplies by the own margin); ipnstats
            # follows FCE 1969, which a bootstrap of these rows confirms (see the tests)
            psych_var_weighted_quadratic = q$var.weighted, psych_var_weighted_linear = l$var.weighted,
            two_by_two = list(a = tab$a, b = tab$b, kappa = t2$kappa),
            versions = list(R = R.version.string, psych = as.character(packageVersion("psych"))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "kappa.json")
print(out)
