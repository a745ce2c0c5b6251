# Gould-Fernandez brokerage on network's `flo` (16 Florentine families), sna::brokerage,
# the reference for ipnstats.estimators.network. Run in this folder: Rscript brokerage.R
# It writes brokerage.json: raw counts, expected counts, standard deviations and z-scores
# per family and role (sna's raw.nli, exp.nli, sd.nli, z.nli), for the classes
# cl = rep(1:4, length.out = 16), on the symmetric matrix and on a directed graph built
# from it (see `directed` below) so that the direction rules are tested too.
suppressMessages({library(sna); library(jsonlite)})
data(flo, package = "network")
stopifnot(nrow(flo) == 16, sum(flo) == 40)
cl <- rep(1:4, length.out = 16)
roles <- c("w_I", "w_O", "b_IO", "b_OI", "b_O", "t")
pack <- function(b) list(raw = unname(b$raw.nli), expected = unname(b$exp.nli),
                         sd = unname(b$sd.nli), z = unname(b$z.nli))
# a directed graph: the upper triangle of flo (i -> j for i < j), plus the lower-triangle
# ties of Medici (row 9), so that some ties are mutual and some one-way
directed <- flo * upper.tri(flo)
directed[9, ] <- pmax(directed[9, ], flo[9, ])
out <- list(
  families = rownames(flo), cl = cl, roles = roles, flo = unname(flo),
  undirected = pack(brokerage(flo, cl)),
  directed_matrix = unname(directed),
  directed = pack(brokerage(directed, cl))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "brokerage.json")
