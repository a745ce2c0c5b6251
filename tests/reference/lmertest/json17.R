# A minimal JSON writer that keeps every double at full precision (%.17g); jsonlite stops at 15 digits.
num17 <- function(x) ifelse(is.na(x), "null", sprintf("%.17g", x))
to_json17 <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    items <- vapply(x, to_json17, "")
    if (!is.null(names(x)))
      return(paste0("{", paste0(vapply(names(x), function(n)
        as.character(jsonlite::toJSON(n, auto_unbox = TRUE)), ""), ": ", items,
        collapse = ", "), "}"))
    return(paste0("[", paste(items, collapse = ", "), "]"))
  }
  if (is.matrix(x)) return(to_json17(lapply(seq_len(nrow(x)), function(i) unname(x[i, ]))))
  if (is.character(x) || is.factor(x)) {
    s <- vapply(as.character(x), function(v) as.character(jsonlite::toJSON(v, auto_unbox = TRUE)), "")
  } else if (is.logical(x)) {
    s <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else s <- num17(as.numeric(x))
  if (length(x) == 1 && is.null(attr(x, "array"))) s else paste0("[", paste(s, collapse = ", "), "]")
}
write_json17 <- function(x, path) {
  txt <- to_json17(x)
  writeLines(jsonlite::prettify(txt, indent = 1), path)
}
