# glmnet's lambdas and its objective at each lambda, for RegService's objective check.
# Usage: Rscript tests/RegService.Benchmarks/anchor_objectives.R DATADIR OUT.json [THRESH [KEYS]]
#
# For each path workload with a comparable lambda (lasso_path_50k_500, wlasso_path_50k_500,
# lasso_path_500_10k, logit_enet_path_50k_200, poisson_path_50k_200, multinom_path_20k_100, lasso_path_1k_50k), runs the call of
# ../shared/anchors/bench_glmnet.R (default path, default thresh) and writes, per workload key: family, alpha,
# glmnet's lambdas, npasses, the weights file (weighted workloads), and
#   gaussian: (1/2) sum_i w_i (y - a0 - X b)^2            + lambda * P(b)
#   binomial: -sum_i w_i [y eta - log(1 + exp(eta))]      + lambda * P(b),  eta = a0 + X b
#   poisson:  sum_i w_i [exp(eta) - y eta]                 + lambda * P(b)
#   P(b) = sum_j [ (1 - alpha)/2 (b_j s_j)^2 + alpha |b_j s_j| ],  s_j the sd of column j
# from glmnet's original-scale coefficients (glmnet penalizes the standardized coefficients b_j s_j).
# w_i is 1/n without weights; with weights (wlasso_path_50k_500: the column w of weights_50k.csv)
# it is the weight over their sum, and s_j and the means are weighted as glmnet's are.
# The ridge path is left out: for gaussian with alpha < 1 glmnet scales y to unit variance
# internally, so its lambda is not the lambda of this formula.
# The benchmark runner reads OUT.json with --objectives OUT.json.
# THRESH (default glmnet's 1e-7; "-" for the default) fits glmnet tighter, e.g. 1e-12, to get a
# near-exact reference: at the default thresh glmnet's own objective is not within 1e-6 of the
# optimum everywhere (the tail of the p >> n path). A tight run takes minutes (maxit is raised to 1e7
# with it). KEYS, comma-separated, runs only those workloads (e.g. wlasso_path_50k_500).
suppressMessages(library(glmnet))
a <- commandArgs(TRUE)
if (length(a) < 2 || length(a) > 4) stop("usage: Rscript anchor_objectives.R DATADIR OUT.json [THRESH [KEYS]]")
d <- a[1]; out <- a[2]
thresh <- if (length(a) >= 3 && a[3] != "-") as.numeric(a[3]) else NA
keys <- if (length(a) == 4) strsplit(a[4], ",")[[1]] else NULL
ld <- function(n) {
  X <- as.matrix(data.table::fread(file.path(d, paste0(n, ".csv"))))
  list(X = X[, -ncol(X)], y = X[, ncol(X)])
}
objective <- function(fit, X, y, family, alpha, w = rep(1, nrow(X))) {
  n <- nrow(X)
  w <- w / sum(w)
  s <- apply(X, 2, function(x) sqrt(sum(w * (x - sum(w * x))^2)))
  B <- as.matrix(fit$beta)                                  # p x L, original scale
  eta <- X %*% B + matrix(fit$a0, n, ncol(B), byrow = TRUE) # n x L
  loss <- if (family == "gaussian") colSums(w * (y - eta)^2) / 2
          else if (family == "poisson") colSums(w * (exp(eta) - y * eta))
          else colSums(w * (pmax(eta, 0) + log1p(exp(-abs(eta))) - y * eta))
  BS <- B * s                                               # row j times s_j
  loss + fit$lambda * colSums((1 - alpha) / 2 * BS^2 + alpha * abs(BS))
}
# multinomial (ungrouped): -(1/n) sum_i [eta_{i,y_i} - log sum_k exp(eta_ik)] + lambda * sum_k P(b_k), classes the sorted values of y
objective_multinomial <- function(fit, X, y, alpha) {
  n <- nrow(X)
  s <- apply(X, 2, function(x) sqrt(mean((x - mean(x))^2)))
  Y <- sapply(sort(unique(y)), function(l) as.numeric(y == l))
  sapply(seq_along(fit$lambda), function(l) {
    B <- sapply(fit$beta, function(b) as.numeric(b[, l])); a0 <- fit$a0[, l]
    eta <- sweep(X %*% B, 2, a0, "+")
    m <- apply(eta, 1, max)
    loss <- -(sum(Y * eta) - sum(m + log(rowSums(exp(eta - m))))) / n
    BS <- B * s
    loss + fit$lambda[l] * sum((1 - alpha) / 2 * BS^2 + alpha * abs(BS))
  })
}
num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
entries <- character()
run <- function(key, data, family, alpha, weights = NULL) {
  if (!is.null(keys) && !(key %in% keys)) return(invisible())
  w <- ld(data)
  wt <- if (is.null(weights)) rep(1, nrow(w$X)) else data.table::fread(file.path(d, paste0(weights, ".csv")))$w
  fit <- if (is.na(thresh)) glmnet(w$X, w$y, family = family, alpha = alpha, weights = wt)
         else glmnet(w$X, w$y, family = family, alpha = alpha, weights = wt, thresh = thresh, maxit = 1e7)
  f <- if (family == "multinomial") objective_multinomial(fit, w$X, w$y, alpha) else objective(fit, w$X, w$y, family, alpha, wt)
  message(sprintf("%s: %d lambdas, npasses %d", key, length(fit$lambda), fit$npasses))
  entries[[key]] <<- sprintf('"%s": {"data": "%s",%s "family": "%s", "alpha": %s, "thresh": %s, "npasses": %d, "lambda": %s, "objective": %s}',
                             key, data, if (is.null(weights)) "" else sprintf(' "weights": "%s",', weights), family, format(alpha),
                             format(if (is.na(thresh)) 1e-7 else thresh), fit$npasses, num(fit$lambda), num(f))
}
run("lasso_path_50k_500", "lasso_50k_500", "gaussian", 1)
run("wlasso_path_50k_500", "lasso_50k_500", "gaussian", 1, weights = "weights_50k")
run("lasso_path_500_10k", "lasso_500_10k", "gaussian", 1)
run("logit_enet_path_50k_200", "logit_50k_200", "binomial", 0.5)
if (file.exists(file.path(d, "poisson_50k_200.csv"))) run("poisson_path_50k_200", "poisson_50k_200", "poisson", 1)
if (file.exists(file.path(d, "multinom_20k_100.csv"))) run("multinom_path_20k_100", "multinom_20k_100", "multinomial", 1)
if (file.exists(file.path(d, "lasso_1k_50k.csv"))) run("lasso_path_1k_50k", "lasso_1k_50k", "gaussian", 1)
writeLines(paste0("{\n", paste(entries, collapse = ",\n"), "\n}"), out)
