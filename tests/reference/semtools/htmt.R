# semTools::htmt on Holzinger & Swineford (1939), the three-factor model (see SOURCE.md).
# Run from this folder: Rscript htmt.R -> htmt.json
suppressPackageStartupMessages({library(lavaan); library(semTools)})
library(jsonlite)
data(HolzingerSwineford1939, package = "lavaan")
stopifnot(nrow(HolzingerSwineford1939) == 301)
model <- " visual  =~ x1 + x2 + x3
           textual =~ x4 + x5 + x6
           speed   =~ x7 + x8 + x9 "
m <- function(x) unname(lapply(seq_len(nrow(x)), function(i) unclass(x)[i, ]))
h2 <- htmt(model, HolzingerSwineford1939)
h1 <- htmt(model, HolzingerSwineford1939, htmt2 = FALSE)
h1s <- htmt(model, HolzingerSwineford1939, htmt2 = FALSE, absolute = FALSE)
# a reversed item: absolute matters when htmt2 = FALSE
HS <- HolzingerSwineford1939; HS$x5 <- -HS$x5
h1r <- htmt(model, HS, htmt2 = FALSE, absolute = FALSE)
h1ra <- htmt(model, HS, htmt2 = FALSE, absolute = TRUE)
# missing values: listwise (the default) after blanking some cells
HM <- HolzingerSwineford1939; HM$x1[c(3, 10, 50)] <- NA; HM$x8[c(7, 10)] <- NA
write.csv(data.frame(row = c(3, 10, 50, 7, 10), col = c("x1", "x1", "x1", "x8", "x8")),
          "htmt_missing_cells.csv", row.names = FALSE)
h2m <- htmt(model, HM)
out <- list(factors = colnames(h2), htmt2 = m(h2), htmt = m(h1), htmt_signed = m(h1s),
            reversed_x5_signed = m(h1r), reversed_x5_absolute = m(h1ra), missing_listwise = m(h2m),
            versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")),
                            semTools = as.character(packageVersion("semTools"))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "htmt.json")
print(h1); print(h2)
