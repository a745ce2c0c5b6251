# Early-vs-late (Welch t, chisq.test) and the marker correction, written out in base R on
# Holzinger & Swineford (1939) (see SOURCE.md). Run from this folder: Rscript hs_checks.R
library(jsonlite)
data(HolzingerSwineford1939, package = "lavaan")
hs <- HolzingerSwineford1939
stopifnot(nrow(hs) == 301)
# early = first 25% by id (floor(0.25 * 301) = 75 rows), late = last 75
o <- hs[order(hs$id), ]
k <- floor(0.25 * nrow(o))
early <- o[1:k, ]; late <- o[(nrow(o) - k + 1):nrow(o), ]
tt <- lapply(c("x1", "x4", "x7"), function(v) {
  r <- t.test(late[[v]], early[[v]])  # Welch by default
  list(variable = v, statistic = unname(r$statistic), df = unname(r$parameter), p_value = r$p.value)
})
wave <- c(rep("early", k), rep("late", k))
cs <- chisq.test(table(wave, c(early$sex, late$sex)))            # 2 x 2: Yates
cg <- chisq.test(table(wave, c(as.character(early$grade), as.character(late$grade))))
ps <- c(sapply(tt, `[[`, "p_value"), cs$p.value)
# marker: agemo is the marker; smallest positive correlation of agemo with x1, x4, x7
vars <- c("x1", "x4", "x7", "agemo")
cc <- hs[complete.cases(hs[, vars]), vars]
R <- cor(cc)
rm <- min(R[c("x1", "x4", "x7"), "agemo"][R[c("x1", "x4", "x7"), "agemo"] > 0])
n <- nrow(cc)
pairs <- list(c("x1", "x4"), c("x1", "x7"), c("x4", "x7"))
mk <- lapply(pairs, function(p) {
  r <- R[p[1], p[2]]; ra <- (r - rm) / (1 - rm); t <- ra / sqrt((1 - ra^2) / (n - 3))
  list(var_a = p[1], var_b = p[2], r = r, r_adjusted = ra, statistic = t,
       p_value = 2 * pt(-abs(t), n - 3))
})
out <- list(welch = tt, chisq_sex = list(statistic = unname(cs$statistic), df = unname(cs$parameter), p_value = cs$p.value),
            chisq_grade = list(statistic = unname(cg$statistic), p_value = cg$p.value),
            holm_x1_x4_x7_sex = p.adjust(ps, "holm"),
            marker = list(r_m = rm, n = n, pairs = mk),
            versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "hs_checks.json")
