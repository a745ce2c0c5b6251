# lme4's lmer(y ~ service + (1 | s) + (1 | d)) on the first N rows of lme4's InstEval
# (all 73,421 when N is 0 or absent), timed by R itself: benchmarks/models.py, case 8.
# Prints one line "@@lmer@@" followed by JSON: R's elapsed seconds for the lmer call
# alone, the estimates, the REML criterion and what identifies the rows.
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args) && as.integer(args[1]) > 0) as.integer(args[1]) else nrow(InstEval)
data <- droplevels(InstEval[seq_len(n), ])
elapsed <- system.time(fit <- lmer(y ~ service + (1 | s) + (1 | d), data = data))[["elapsed"]]
vc <- as.data.frame(VarCorr(fit))
status <- readLines("/proc/self/status")
hwm <- sub("^VmHWM:\\s*([0-9]+).*", "\\1", status[startsWith(status, "VmHWM:")])
num <- function(x) paste(formatC(unname(x), digits = 17, format = "g"), collapse = ", ")
cat("@@lmer@@{",
    '"elapsed": ', elapsed, ", ",
    '"rows": ', nrow(data), ", ",
    '"students": ', nlevels(data$s), ", ",
    '"lecturers": ', nlevels(data$d), ", ",
    '"sum_y": ', sum(as.numeric(data$y)), ", ",
    '"params": [', num(fixef(fit)), "], ",
    '"se": [', num(sqrt(diag(as.matrix(vcov(fit))))), "], ",
    '"vc": {"s": ', num(vc$vcov[vc$grp == "s"]), ', "d": ', num(vc$vcov[vc$grp == "d"]),
    ', "Residual": ', num(vc$vcov[vc$grp == "Residual"]), "}, ",
    '"reml_criterion": ', num(REMLcrit(fit)), ", ",
    '"feval": ', fit@optinfo$feval, ", ",
    '"peak_rss_kib": ', if (length(hwm)) hwm else 0, ", ",
    '"lme4": "', as.character(packageVersion("lme4")), '", ',
    '"R": "', paste(R.version$major, R.version$minor, sep = "."), '"}\n', sep = "")
