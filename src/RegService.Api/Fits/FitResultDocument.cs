using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RegService.Api.Fits;

/// <summary>
/// Metrics of a model on a set of rows; the fields depend on the family (named by <c>family</c>).
/// A value that is not defined on those rows (NaN, for example r2 of a constant target) is null.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "family")]
[JsonDerivedType(typeof(GaussianMetricsDocument), "gaussian")]
[JsonDerivedType(typeof(BinomialMetricsDocument), "binomial")]
[JsonDerivedType(typeof(PoissonMetricsDocument), "poisson")]
[JsonDerivedType(typeof(MultinomialMetricsDocument), "multinomial")]
public abstract record MetricsSetDocument([property: Description("Rows scored")] [property: JsonPropertyOrder(-1)] int Rows);

/// <summary>Gaussian metrics. r2 = 1 - SSE/SST about those rows' own mean (scikit-learn's r2_score); devianceRatio equals r2.</summary>
public sealed record GaussianMetricsDocument(
    int Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Mse,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Rmse,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Mae,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? R2,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? DevianceRatio) : MetricsSetDocument(Rows);

/// <summary>Binomial metrics: mean log loss (scikit-learn's log_loss), accuracy at probability 0.5, ROC AUC,
/// mean deviance per row (cv.glmnet's binomial deviance, 2 x log loss) and 1 - deviance / null deviance.</summary>
public sealed record BinomialMetricsDocument(
    int Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? LogLoss,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Accuracy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Auc,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Deviance,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? DevianceRatio) : MetricsSetDocument(Rows);

/// <summary>Poisson metrics: the deviance 2 sum w [y log(y/mu) - (y - mu)], the mean poisson deviance per row (scikit-learn's
/// mean_poisson_deviance, cv.glmnet's poisson deviance), 1 - deviance / null deviance (the null model predicting the mean
/// count), and the mean absolute and root mean squared error of the predicted mean mu = e^eta.</summary>
public sealed record PoissonMetricsDocument(
    int Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Deviance,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? MeanDeviance,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? DevianceRatio,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Mae,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Rmse) : MetricsSetDocument(Rows);

public sealed record MetricsDocument(
    [property: Description("The returned model on the rows it was fitted to (all rows)")] MetricsSetDocument Train,
    [property: Description("Out-of-sample metrics at the chosen lambda: the training-rows model on the held-out rows (holdout), or as the engine reports for k-fold, loo and gcv")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MetricsSetDocument? Validation);

public sealed record SparsityDocument(int NonZero, int Total, double FractionZero, IReadOnlyList<string> Selected);

/// <summary>Validation loss per path lambda, as cv.glmnet's cvm and cvsd.</summary>
public sealed record ValidationCurveDocument(
    [property: Description("The measure validation scored by (the request's validation.measure, cv.glmnet's type.measure): deviance (gaussian: the squared error; binomial, multinomial: mean of -2 log-likelihood per row; poisson: mean poisson deviance per row), mse, mae, class (misclassification rate) or auc (the largest is best)")] string Measure,
    [property: Description("Mean validation loss per lambda (k-fold: the fold means weighted by fold size); null where not finite")] IReadOnlyList<double?> Mean,
    [property: Description("Its standard error per lambda (k-fold: weighted sd of the fold means / sqrt(K - 1)); null where not finite")] IReadOnlyList<double?> StandardError);

/// <summary>
/// A coefficient vector by its nonzero entries, as glmnet's sparse matrix keeps a path: <c>indices</c> (ascending) into the
/// result's <c>features</c> and the original-scale <c>values</c> at them; every feature not listed has coefficient 0.
/// </summary>
public sealed record SparseCoefficientsDocument(
    [property: Description("0-based positions in features of the nonzero coefficients, ascending")] IReadOnlyList<int> Indices,
    [property: Description("The original-scale coefficients at those positions")] IReadOnlyList<double> Values);

/// <summary>
/// Every lambda fitted on all rows, in the order fitted (a generated path: from lambda_max down). GET /v1/fits/{id} shows the
/// per-lambda facts (a few numbers per lambda); the coefficients come with ?include=path, or paged from GET /v1/fits/{id}/path.
/// </summary>
public sealed record PathDocument(
    IReadOnlyList<double> Lambdas,
    [property: Description("Nonzero coefficients per lambda (glmnet's df)")] IReadOnlyList<int> NonZero,
    IReadOnlyList<double> Intercepts,
    [property: Description("With ?include=path (and from /path): the coefficients per lambda, sparse (indices into features and values); empty for an MLP")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SparseCoefficientsDocument>? Coefficients,
    [property: Description("Fraction of the null deviance explained per lambda (glmnet's dev.ratio); null where not computed or not finite")]
    IReadOnlyList<double?>? DevianceRatio = null,
    [property: Description("Whether each lambda's solve met the tolerance")] IReadOnlyList<bool>? Converged = null,
    [property: Description("Coordinate-descent passes (binomial: Newton steps) per lambda; 0 for the closed form")] IReadOnlyList<int>? Iterations = null,
    [property: Description("Features the strong rule left out of the passes, per lambda")] IReadOnlyList<int>? ScreenedOut = null,
    [property: Description("Duality gap per lambda (gaussian coordinate descent): scikit-learn's standard gap on the objective's scale, P(b) - D(theta) with theta the residual rescaled to dual feasibility; null where not computed")] IReadOnlyList<double?>? DualityGap = null,
    [property: Description("Validation loss per lambda (with validation)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ValidationCurveDocument? Validation = null,
    [property: Description("Validation MSE per lambda (gaussian with validation; the same as validation.mean, null where not finite)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double?>? ValidationMse = null,
    [property: Description("Standard error of validationMse per lambda (the same as validation.standardError)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? ValidationStandardError = null,
    [property: Description("The lambda of least validation loss (cv.glmnet's lambda.min)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? LambdaMin = null,
    [property: Description("The largest lambda within one standard error of the least loss (cv.glmnet's lambda.1se)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Lambda1se = null,
    [property: Description("Family multinomial, with ?include=path (and from /path): every class's intercept and nonzero coefficients per lambda (intercepts and coefficients above are the first class's)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClassPathDocument? Classes = null);

/// <summary>How the lambda was chosen.</summary>
public sealed record ValidationDocument(
    [property: Description("holdout, kfold, loo or gcv")] string Method,
    [property: Description("holdout: the fraction held out")] double? HoldoutFraction,
    [property: Description("holdout and generated k-fold folds: the shuffle's seed")] int? Seed,
    [property: Description("min or oneStandardError")] string Rule,
    [property: Description("holdout: rows the scored models were trained on; kfold, loo and gcv: all rows (each fold's model trains on the rows outside it)")] int TrainRows,
    [property: Description("Rows scored out of sample: the held-out rows (holdout), every row once (kfold, loo), 0 for gcv (a criterion, not a score)")] int ValidationRows,
    [property: Description("kfold: number of folds")] int? Folds = null,
    [property: Description("kfold: the fold label of every row, in row order (as given, or 1..K when generated)")] IReadOnlyList<int>? FoldIds = null,
    [property: Description("The measure the lambdas were scored by (validation.measure as resolved: mse for gaussian and deviance otherwise by default; deviance where auc could not be scored, with a warning; mse for loo and gcv); absent from results stored before it was reported (path.validation.measure names it)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Measure = null);

public sealed record DiagnosticsDocument(
    [property: Description("The solver the engine used")] string Solver,
    [property: Description("Iterations over the whole path: coordinate-descent passes, or Newton steps")] int Iterations,
    [property: Description("True when every lambda's solve met the tolerance")] bool Converged,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? DualityGap,
    IReadOnlyList<string> Warnings,
    [property: Description("Seconds per stage: load, then gram (closed form, covariance coordinate descent) or setup (the other path solvers), path, relax (a relaxed fit), validation, metrics, total; for bayesianRidge gram, eigen, evidence, metrics, total; for a trained network setup, train, epoch, metrics, total")] IReadOnlyDictionary<string, double> Timings,
    [property: Description("Lambdas whose solve stopped at maxIterations before meeting the tolerance")] IReadOnlyList<double>? NotConvergedLambdas = null,
    [property: Description("Deviance per row of the intercept-only model (gaussian: the target's variance)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? NullDeviance = null,
    [property: Description("The iterative solver's stopping criterion, its tolerance and the value reached at the returned lambda; absent for the closed form and the stochastic solvers")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] StoppingDocument? Stopping = null);

/// <summary>How an iterative solve was stopped (docs/engine.md, "Convergence").</summary>
public sealed record StoppingDocument(
    [property: Description("glmnet (largest weighted squared coefficient change per pass), dualityGap (the standard duality gap), or proximalGradientMapping (||G||_2 of the proximal-gradient mapping)")] string Rule,
    [property: Description("The request's tolerance, relative to the null deviance per row (proximalGradientMapping: to its square root)")] double Tolerance,
    [property: Description("The criterion's value at the returned lambda in the tolerance's units (gap / null deviance, or ||G||_2 / sqrt(null deviance)); null for glmnet's rule, whose change is not kept")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Achieved = null);

/// <summary>Loss per epoch: the training loss and, with early stopping, the loss on the held-out rows.</summary>
public sealed record LearningCurveDocument(
    [property: Description("Mean loss (gaussian: half the squared error; binomial: log loss) on the training rows after each epoch; null where it was not finite (training diverged)")] IReadOnlyList<double?> Train,
    [property: Description("The same on the early-stopping rows; null without early stopping")] IReadOnlyList<double?>? Validation);

/// <summary>How a stochastic (sgd, adam, adamW) training run went.</summary>
public sealed record TrainingDocument(
    string Solver,
    [property: Description("Epochs asked for")] int Epochs,
    [property: Description("Epochs trained")] int EpochsRun,
    [property: Description("1-based epoch whose weights were kept (with early stopping: the least validation loss)")] int BestEpoch,
    [property: Description("epochsExhausted, earlyStopped or diverged")] string StopReason,
    double LearningRate,
    int BatchSize,
    double WeightDecay,
    int Seed,
    [property: Description("Rows trained on, and rows held out for early stopping")] int TrainRows,
    int ValidationRows,
    LearningCurveDocument Curve);

/// <summary>One dense layer: out = W in + b, W row-major (outputs rows of inputs columns).</summary>
public sealed record LayerDocument(
    int Inputs,
    int Outputs,
    [property: Description("relu for hidden layers; identity for the output (the linear predictor)")] string Activation,
    [property: Description("Frobenius norm of the weights")] double WeightNorm,
    IReadOnlyList<double> Weights,
    IReadOnlyList<double> Biases);

/// <summary>A fitted MLP on standardized inputs ((x - featureMeans) / featureScales), as the predict endpoint runs it.</summary>
public sealed record NetworkDocument(
    IReadOnlyList<int> HiddenUnits,
    [property: Description("Dropout rate per hidden layer while training (off at prediction)")] IReadOnlyList<double> Dropout,
    [property: Description("Norm of each input's first-layer weights (standardized scale); 0 means the input is not used")]
    IReadOnlyDictionary<string, double> InputWeightNorms,
    IReadOnlyList<LayerDocument> Layers);

/// <summary>The polynomial expansion a fit was made on.</summary>
public sealed record ExpansionDocument(int PolynomialDegree, bool Interactions,
    [property: Description("Data set features expanded (what prediction rows carry)")] int Inputs,
    [property: Description("Features after expansion (what was fitted)")] int Features);

/// <summary>
/// The Bayesian reading of a linear fit: the prior whose posterior mode (MAP) is the returned model. A penalized fit minimizes
/// (1/2n)|y - b0 - Xb|² + lambda P(b) (binomial: -(1/n) loglik + lambda P(b)); times n/sigma² (binomial: n) that is the negative
/// log posterior with the prior exp(-(n lambda / sigma²) P(b)), P(b) = sum_j v_j [(1 - l1Ratio)/2 b_j² + l1Ratio |b_j|]. Values
/// are per weight with penalty factor 1 (a factor v divides them; 0 leaves that weight flat). README "The Bayesian reading".
/// </summary>
public sealed record PriorDocument(
    [property: Description("flat (penalty none, or lambda 0), gaussian (ridge), laplace (lasso) or gaussianLaplace (elastic net: density ∝ exp(-b²/(2 gaussianVariance) - |b|/laplaceScale))")] string Kind,
    [property: Description("map: the penalty read as a prior at the fit's lambda; evidence: model bayesianRidge's precisions (gaussianVariance = 1/lambda, noiseVariance = 1/alpha)")] string Source,
    [property: Description("standardized: the prior is on the standardized weights (standardize on); original: on the coefficients as reported")] string Scale,
    [property: Description("sigma², the noise variance: gaussian, RSS / (rows - degreesOfFreedom); absent for binomial (dispersion 1)")] double? NoiseVariance = null,
    [property: Description("Degrees of freedom behind noiseVariance, the intercept included: ridge and elastic net the trace of the ridge smoother over the nonzero coefficients, lasso their number, none the features fitted")] double? DegreesOfFreedom = null,
    [property: Description("Variance of the Gaussian factor per weight: sigma² / (n lambda (1 - l1Ratio)) (binomial: 1 / (n lambda (1 - l1Ratio)))")] double? GaussianVariance = null,
    [property: Description("Scale of the Laplace factor per weight: sigma² / (n lambda l1Ratio) (binomial: 1 / (n lambda l1Ratio))")] double? LaplaceScale = null,
    [property: Description("Why a value is missing, or a caveat of this fit")] string? Note = null);

/// <summary>Model bayesianRidge's hyperpriors and stopping rule, as fitted.</summary>
public sealed record BayesianSettingsDocument(double Alpha1, double Alpha2, double Lambda1, double Lambda2, int MaxIterations, double Tolerance);

/// <summary>What evidence maximization found (model bayesianRidge, scikit-learn's BayesianRidge).</summary>
public sealed record BayesianDocument(
    [property: Description("Noise precision 1/sigma² (scikit-learn's alpha_)")] double Alpha,
    [property: Description("Weight precision: each weight's prior is N(0, 1/lambda) on the fit's scale (scikit-learn's lambda_); the returned model is ridge at the top-level lambda = this / (alpha n)")] double Lambda,
    [property: Description("Log marginal likelihood (evidence) at each step's precisions, then at the returned ones (scikit-learn's scores_); null where not finite")] IReadOnlyList<double?> LogMarginalLikelihood,
    [property: Description("Posterior standard deviation of each original-scale coefficient (sqrt of the posterior covariance's diagonal)")] IReadOnlyDictionary<string, double> CoefficientStd,
    [property: Description("Fixed-point steps taken")] int Iterations,
    [property: Description("True when the coefficients moved by less than the tolerance before maxIterations")] bool Converged,
    BayesianSettingsDocument Settings);

/// <summary>The result of a finished fit.</summary>
public sealed record FitResultDocument(
    [property: Description("converged or notConverged")] string Status,
    string Family,
    string Penalty,
    double L1Ratio,
    [property: Description("The lambda of the returned model")] double Lambda,
    double Intercept,
    [property: Description("The nonzero original-scale coefficients by feature name; a feature of features not listed has coefficient 0")] IReadOnlyDictionary<string, double> Coefficients,
    [property: Description("The nonzero coefficients of the standardized features by name (equal to coefficients when standardize is off)")] IReadOnlyDictionary<string, double> StandardizedCoefficients,
    [property: Description("With ?include=standardization: the mean used to standardize each feature, by name")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, double>? FeatureMeans,
    [property: Description("With ?include=standardization: the scale (standard deviation, 1/n) used to standardize each feature, by name")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, double>? FeatureScales,
    SparsityDocument Sparsity,
    MetricsDocument Metrics,
    PathDocument Path,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ValidationDocument? Validation,
    DiagnosticsDocument Diagnostics,
    [property: Description("The fitted features in order (with an expansion: the expanded names); path.coefficients index into it")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Features = null,
    [property: Description("With an expansion: the data set features it expanded, which prediction rows must carry")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Inputs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExpansionDocument? Expansion = null,
    [property: Description("sgd, adam, adamW: the learning curve, best epoch and why training stopped")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingDocument? Training = null,
    [property: Description("mlp: the network (coefficients are then empty; sparsity counts the inputs whose first-layer weights are not all 0)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] NetworkDocument? Network = null,
    [property: Description("Every linear model: the prior it corresponds to (absent for an MLP, and for fits stored before it was reported)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PriorDocument? Prior = null,
    [property: Description("True when the fit ended before its last lambda and kept what it finished: path holds the lambdas completed, the "
        + "returned model is the last of them (or, with validation finished, the one it chose), and predict, coefficients and plots take any of them. Absent for a complete fit")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Partial = null,
    [property: Description("With partial: canceled (DELETE; the fit's status is canceled), timeLimit (timeLimitSeconds or the server's Limits:MaxFitSeconds) or "
        + "maxIterations (proximalGradient spent maxIterations, which spans its whole path, glmnet's maxit). Validation is dropped when the fit "
        + "was canceled or timed out before it finished; after maxIterations it is limited to the completed lambdas")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PartialReason = null,
    [property: Description("model bayesianRidge: the precisions evidence chose, the log evidence per step and the coefficients' posterior standard deviations")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] BayesianDocument? Bayesian = null,
    [property: Description("relax: the relaxed lasso (glmnet's relax = TRUE). intercept, coefficients and lambda above are the relaxed model at (lambda, relaxed.gamma); path is the penalized path (gamma 1), its validation and lambdaMin/lambda1se cv.glmnet's own")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RelaxedDocument? Relaxed = null,
    [property: Description("Family multinomial: the classes and each class's model at the returned lambda; the top-level intercept, coefficients and standardizedCoefficients (and path.intercepts, path.coefficients, /coefficients) are then the first class's, and sparsity counts the features nonzero in any class")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClassesDocument? Classes = null);


/// <summary>
/// The relaxed lasso's section of a result: the model at (lambda, gamma) is gamma * lasso(lambda) + (1 - gamma) * refit(lambda),
/// the refit being the unpenalized fit on lambda's active set (a gamma below 1 used as at least 1e-5, as glmnet).
/// </summary>
public sealed record RelaxedDocument(
    [property: Description("The gammas, increasing")] IReadOnlyList<double> Gammas,
    [property: Description("The gamma of the returned model: with validation the rule's choice (gammaMin or gamma1se), else the largest gamma (glmnet's coef(fit, s, gamma = 1) default; with one gamma, that one)")] double Gamma,
    [property: Description("With validation: the (lambda, gamma) of least validation loss over every pair, ties to the largest lambda then gamma (cv.glmnet's relaxed lambda.min, gamma.min)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? LambdaMin,
    [property: Description("With validation: the gamma of that least loss (cv.glmnet's relaxed gamma.min)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? GammaMin,
    [property: Description("With validation: the largest lambda (then gamma) whose loss is within one standard error of that minimum (cv.glmnet's relaxed lambda.1se, gamma.1se)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Lambda1se,
    [property: Description("With validation: the gamma that goes with lambda1se (cv.glmnet's relaxed gamma.1se)")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Gamma1se,
    [property: Description("Per path lambda: false where the active set had more than n - 3 features (glmnet's maxp) or separates the classes of a binomial fit (no maximum likelihood), so the last refit that converged stands for it")] IReadOnlyList<bool> Refitted,
    [property: Description("Per gamma (in gammas' order), the relaxed path: intercepts per lambda, validation curve with validation, and with ?include=path the coefficients per lambda (sparse, indices into features)")]
    IReadOnlyList<RelaxedPathDocument> Paths);

/// <summary>The relaxed path at one gamma.</summary>
public sealed record RelaxedPathDocument(
    [property: Description("The gamma of this path")] double Gamma,
    [property: Description("Per path lambda, the relaxed intercept")] IReadOnlyList<double> Intercepts,
    [property: Description("With ?include=path: per path lambda the relaxed model's nonzero coefficients")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SparseCoefficientsDocument>? Coefficients,
    [property: Description("With validation: the loss per path lambda at this gamma")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ValidationCurveDocument? Validation);

/// <summary>
/// Reads result documents as versions before the stored format 2 stored them (<see cref="RegService.Api.Storage.StoredResults.Read"/>):
/// coefficients by name, the path's dense per lambda, metrics perhaps without their family.
/// </summary>
public static class FitResultDocuments
{
    public static FitResultDocument Read(JsonObject document, JsonSerializerOptions options)
    {
        // The fitted features: as listed, or (before results listed them) the coefficients' or the means' names, in order.
        var features = document["features"] is JsonArray listed
            ? listed.Select(f => f!.GetValue<string>()).ToList()
            : (document["coefficients"] is JsonObject { Count: > 0 } c ? c : document["featureMeans"]!.AsObject()).Select(kv => kv.Key).ToList();
        document["features"] ??= new JsonArray([.. features.Select(f => (JsonNode)f)]);
        if (document["path"]?["coefficients"] is JsonArray path)
            for (int l = 0; l < path.Count; l++)
            {
                var byName = path[l]!.AsObject();
                var sparse = StoredSparseVector.From([.. features.Select(f => byName[f]?.GetValue<double>() ?? 0)]);
                path[l] = new JsonObject { ["indices"] = new JsonArray([.. sparse.Indices.Select(i => (JsonNode)i)]), ["values"] = new JsonArray([.. sparse.Values.Select(v => (JsonNode)v)]) };
            }
        // Results stored before the binomial family have gaussian metrics without the "family" discriminator.
        if (document["metrics"] is JsonObject metrics)
            foreach (var key in new[] { "train", "validation" })
                if (metrics[key] is JsonObject set && !set.ContainsKey("family"))
                {
                    var named = new JsonObject { ["family"] = "gaussian" };
                    foreach (var (name, value) in set.ToList())
                    {
                        set.Remove(name);
                        named[name] = value;
                    }
                    metrics[key] = named;
                }
        return document.Deserialize<FitResultDocument>(options)!;
    }
}
