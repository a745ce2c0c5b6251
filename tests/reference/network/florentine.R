# Centralities of the Florentine marriage network (Padgett), the reference for
# ipnstats.estimators.network.network_measures. Run in this folder: Rscript florentine.R
# It writes florentine.json. The graph is network's `flo` (16 families, Pucci isolated),
# which is networkx.florentine_families_graph() plus Pucci; the 16 x 16 matrix is
# stored so the test checks that it rebuilds the same graph without R.
suppressMessages({library(sna); library(igraph); library(jsonlite)})
data(flo, package = "network")
stopifnot(nrow(flo) == 16, sum(flo) == 40)
families <- rownames(flo)
g <- graph_from_adjacency_matrix(flo, mode = "undirected")
dg <- graph_from_adjacency_matrix(flo, mode = "directed")  # both directions of each tie
ev <- eigen_centrality(g, scale = TRUE)$vector
dev_in <- eigen_centrality(dg, directed = TRUE, scale = TRUE)$vector
# the measures without the isolate Pucci (networkx's graph has 15 families)
g15 <- delete_vertices(g, "Pucci")
out <- list(
  families = families,
  flo = unname(flo),
  undirected = list(
    degree = unname(degree(g)),
    betweenness = unname(betweenness(g, directed = FALSE, normalized = FALSE)),
    constraint = unname(constraint(g)),
    eigenvector = unname(ev)
  ),
  undirected_15 = list(
    families = V(g15)$name,
    eigenvector = unname(eigen_centrality(g15, scale = TRUE)$vector)
  ),
  directed = list(
    in_degree = unname(degree(dg, mode = "in")),
    out_degree = unname(degree(dg, mode = "out")),
    betweenness = unname(betweenness(dg, directed = TRUE, normalized = FALSE)),
    constraint = unname(constraint(dg)),
    eigenvector_in = unname(dev_in)
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "florentine.json")
