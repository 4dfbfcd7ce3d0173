using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using RegService.Numerics.Fitting;

namespace RegService.Api.Fits;

public enum FamilyName { Gaussian, Binomial, Poisson, Multinomial }

public enum MultinomialTypeName { Ungrouped, Grouped }

public enum PenaltyName { None, Ridge, Lasso, ElasticNet }

public enum SolverName { Auto, ClosedForm, CoordinateDescent, ProximalNewton, ProximalGradient, Sgd, Adam, AdamW }

public enum ModelName { Linear, Mlp, BayesianRidge }

public enum ValidationMethodName { None, Holdout, Kfold, Loo, Gcv }

public enum RuleName { Min, OneStandardError }

public enum ValidationMeasureName { Deviance, Mse, Mae, Class, Auc }

public enum StoppingName { Glmnet, DualityGap }

public enum JobStatus { Queued, Running, Succeeded, Failed, Canceled }

/// <summary>A lambda path: <c>count</c> values, geometric from lambda_max (the smallest lambda at which every
/// penalized coefficient is zero) down to <c>minRatio * lambda_max</c>, as glmnet's nlambda and lambda.min.ratio.</summary>
public sealed record PathRequest(
    [property: Description("Number of lambdas from lambda_max down, 1 to 1000 (glmnet's nlambda); like glmnet, the path stops early once the deviance ratio saturates")]
    [property: DefaultValue(LambdaPathSpec.DefaultCount)] int? Count = null,
    [property: Description("Smallest lambda as a fraction of lambda_max, in (0, 1) (glmnet's lambda.min.ratio); default 1e-4 when rows exceed features, else 1e-2")]
    double? MinRatio = null);

/// <summary>How to score lambdas on rows the fit did not see.</summary>
public sealed record ValidationRequest(
    [property: Description("none; holdout (a seeded random fraction of rows is held out); kfold (k-fold cross-validation, as cv.glmnet); loo or gcv (leave-one-out or generalized cross-validation, gaussian ridge only, exact from the closed form)")]
    [property: DefaultValue(ValidationMethodName.None)] ValidationMethodName Method = ValidationMethodName.None,
    [property: Description("holdout only: fraction of rows held out, in (0, 1); default 0.2")] double? HoldoutFraction = null,
    [property: Description("holdout and kfold (without foldIds) only: seed of the row shuffle; the same seed gives the same split; default 0")] int? Seed = null,
    [property: Description("min: the lambda with the least validation loss; oneStandardError: the largest lambda within one standard error of it (cv.glmnet's lambda.1se)")]
    [property: DefaultValue(RuleName.Min)] RuleName Rule = RuleName.Min,
    [property: Description("kfold only: number of folds, 2 to the number of rows (stratified by class for binomial); default 10")] int? Folds = null,
    [property: Description("kfold: the fold label of every data set row, in row order (glmnet's foldid); each distinct label is one fold")]
    int[]? FoldIds = null,
    [property: Description("What the lambdas are scored by (cv.glmnet's type.measure): deviance (gaussian: the squared error); mse and mae (of the mean response; binomial and multinomial over the classes' indicators, as cv.glmnet); class (binomial, multinomial: the misclassification rate); auc (binomial: the area under the ROC curve per fold, the largest best; with fewer than 10 rows per fold, or held out, deviance is scored instead with a warning, as cv.glmnet). gaussian takes mse, deviance, mae; binomial deviance, class, auc, mse, mae; poisson deviance, mse, mae; multinomial deviance, class, mse, mae. Default: mse for gaussian, deviance otherwise; loo and gcv score mse")]
    ValidationMeasureName? Measure = null);

/// <summary>Early stopping for sgd, adam and adamW: a seeded fraction of the rows is held out and scored every epoch.</summary>
public sealed record EarlyStoppingRequest(
    [property: Description("Epochs without an improvement of more than minDelta in validation loss before training stops, >= 1")]
    [property: DefaultValue(EarlyStoppingSpec.DefaultPatience)] int? Patience = null,
    [property: Description("Least decrease of the validation loss that counts as an improvement, >= 0")]
    [property: DefaultValue(0.0)] double? MinDelta = null,
    [property: Description("Fraction of the rows held out to watch, in (0, 1)")]
    [property: DefaultValue(EarlyStoppingSpec.DefaultValidationFraction)] double? ValidationFraction = null);

/// <summary>Noise augmentation for sgd, adam and adamW.</summary>
public sealed record AugmentationRequest(
    [property: Description("Standard deviation of the gaussian noise added to the standardized features of every training row each epoch, >= 0. For a linear gaussian model it acts on average as ridge at lambda = sigma^2 (it adds (sigma^2 / 2) ||w||^2 to the loss; Bishop, 1995)")]
    double? GaussianNoise = null,
    [property: Description("Noisy copies of every row per epoch, 1 to 1000")] [property: DefaultValue(1)] int? Copies = null);

/// <summary>Polynomial expansion of the features, before any solver.</summary>
public sealed record ExpansionRequest(
    [property: Description("Highest power of each feature, 1 to 10 (1: no expansion)")] int? PolynomialDegree = null,
    [property: Description("Also every product of distinct features of total degree <= polynomialDegree (x1*x2, x1^2*x2, ...)")]
    [property: DefaultValue(false)] bool Interactions = false);

/// <summary>
/// Model bayesianRidge's settings, scikit-learn's BayesianRidge names and defaults: Gamma(alpha1, alpha2) hyperprior on the noise
/// precision, Gamma(lambda1, lambda2) on the weight precision, and the fixed point's iteration limit and tolerance.
/// </summary>
public sealed record BayesianRequest(
    [property: Description("Shape of the Gamma hyperprior on the noise precision alpha, >= 0 (scikit-learn's alpha_1)")]
    [property: DefaultValue(BayesianSpec.DefaultHyperprior)] double? Alpha1 = null,
    [property: Description("Rate of the Gamma hyperprior on the noise precision alpha, >= 0 (alpha_2)")]
    [property: DefaultValue(BayesianSpec.DefaultHyperprior)] double? Alpha2 = null,
    [property: Description("Shape of the Gamma hyperprior on the weight precision lambda, >= 0 (lambda_1)")]
    [property: DefaultValue(BayesianSpec.DefaultHyperprior)] double? Lambda1 = null,
    [property: Description("Rate of the Gamma hyperprior on the weight precision lambda, >= 0 (lambda_2)")]
    [property: DefaultValue(BayesianSpec.DefaultHyperprior)] double? Lambda2 = null,
    [property: Description("Most fixed-point steps, 1 to 100000 (scikit-learn's n_iter / max_iter)")]
    [property: DefaultValue(BayesianSpec.DefaultMaxIterations)] int? MaxIterations = null,
    [property: Description("Stop once the coefficients move by less than this in sum of absolute values, > 0 (tol)")]
    [property: DefaultValue(BayesianSpec.DefaultTolerance)] double? Tolerance = null);

/// <summary>The relaxed lasso's settings (glmnet's relax = TRUE and its gamma).</summary>
public sealed record RelaxRequest(
    [property: Description("Mixing values in [0, 1], distinct: the model at (lambda, gamma) is gamma * lasso(lambda) + (1 - gamma) * the unpenalized refit on lambda's active set (a gamma below 1 is used as at least 1e-5, as glmnet). Omitted: glmnet's [0, 0.25, 0.5, 0.75, 1]")]
    double[]? Gamma = null);

/// <summary>
/// A fit request. The objective is glmnet's:
/// gaussian (1/2n) sum (y - b0 - x.b)^2, binomial -(1/n) sum [y eta - log(1 + e^eta)], plus
/// lambda * sum_j v_j [(1 - l1Ratio)/2 b_j^2 + l1Ratio |b_j|].
/// </summary>
public sealed record FitRequest
{
    [Description("A name for the fit, shown in lists (optional); the rules of a data set name apply (at most Datasets:MaxNameLength characters, valid UTF-8, no control characters)")]
    public string? Name { get; init; }

    [Description("Id of an uploaded data set")]
    [Required]
    public string? DatasetId { get; init; }

    [Description("Name of the target column (binomial: every value 0 or 1; poisson: counts, whole numbers >= 0)")]
    [Required]
    public string? Target { get; init; }

    [Description("Feature columns; omit for every column but the target (and the weights, offset and classOffsets columns)")]
    public string[]? Features { get; init; }

    [Description("Name of a column of observation weights (glmnet's weights, scikit-learn's sample_weight): finite, >= 0, not all 0; rescaled to sum to the number of rows, as glmnet does. The column is not a feature, and prediction does not need it. Taken by the gaussian family's closedForm and coordinateDescent (more rows than features, at most 2000 features) and by proximalNewton (binomial, poisson, multinomial), with kfold or holdout validation weighted as cv.glmnet; other solvers, models and validation (loo, gcv) answer 400 naming weights")]
    public string? Weights { get; init; }

    [Description("Name of a column of offsets (glmnet's offset; poisson: the log exposure): finite values added to the linear predictor in fitting and validation. The column is not a feature. Prediction needs it: the rows posted (or ?datasetId=) must carry this column, or ?zeroOffset=true assumes 0. Taken by the binomial and poisson families (proximalNewton); others answer 400 naming offset, multinomial too: its offset is classOffsets (glmnet's multinomial offset is an n x K matrix; one column added to every class cancels in the softmax)")]
    public string? Offset { get; init; }

    [Description("Family multinomial only: glmnet's offset, an n x K matrix, as one column per class: an object whose keys are the class labels (the target's values, written as numbers, e.g. \"0\", \"2.5\"; as the result's classes.labels lists them) and whose values are column names, every class named once, e.g. {\"0\": \"off0\", \"1\": \"off1\", \"2\": \"off2\"} (a column may serve several classes; a class without an offset takes a column of zeros). Each column's finite values are added to that class's linear predictor, eta_ik = offset_ik + b0_k + x_i.b_k, in fitting (null model, lambda_max, every Newton step), validation folds and metrics; the columns are not features. Prediction needs them: the rows posted (or ?datasetId=) must carry every one, or ?zeroOffset=true assumes 0. 400 naming classOffsets.<label> for a label that is not a class, a column that is not in the data set, the target, weights or offset column, or a non-finite value (the row named); naming classOffsets for a class left out. Other families answer 400 naming classOffsets (their offset is offset)")]
    public Dictionary<string, string>? ClassOffsets { get; init; }

    [Description("gaussian (least squares), binomial (logistic regression on a 0/1 target), poisson (log-linear regression on counts) or multinomial (K >= 2 classes: the target's distinct values, numbers, sorted; at least 2 rows per class; proximalNewton only, k-fold or holdout validation; weights and lowerLimits/upperLimits as glmnet; its offset is classOffsets, one column per class)")]
    [DefaultValue(FamilyName.Gaussian)]
    public FamilyName Family { get; init; } = FamilyName.Gaussian;

    [Description("Family multinomial only: ungrouped (default; glmnet's type.multinomial \"ungrouped\", each class's coefficient penalized alone) or grouped (one group-lasso penalty on each feature's K class coefficients, so a feature is in every class or none)")]
    public MultinomialTypeName? MultinomialType { get; init; }

    [Description("none, ridge (l1Ratio 0), lasso (l1Ratio 1) or elasticNet (l1Ratio in (0, 1))")]
    [DefaultValue(PenaltyName.Ridge)]
    public PenaltyName Penalty { get; init; } = PenaltyName.Ridge;

    [Description("Mixing between ridge (0) and lasso (1), glmnet's alpha, scikit-learn's l1_ratio. Implied by ridge (0), lasso (1) and none; elasticNet takes a value in (0, 1), default 0.5 (as scikit-learn's ElasticNet)")]
    public double? L1Ratio { get; init; }

    [Description("One penalty strength (glmnet's lambda; scikit-learn Ridge(alpha=a) is lambda = a/n). Give one of lambda, lambdas or path; a penalized fit with none of them gets the default path")]
    public double? Lambda { get; init; }

    [Description("Several penalty strengths, all fitted in the order given; with validation the best is chosen")]
    public double[]? Lambdas { get; init; }

    [Description("A generated lambda path from lambda_max down; {} takes the defaults (count 100)")]
    public PathRequest? Path { get; init; }

    [Description("auto (the engine picks: closed form, coordinate descent or proximal Newton; adamW for an MLP), or one of: closedForm (gaussian ridge or none without penaltyFactors), coordinateDescent (gaussian lasso, elasticNet, or ridge with penaltyFactors), proximalNewton (binomial), proximalGradient (full-batch FISTA with backtracking, any family and penalty, the same objective), sgd, adam or adamW (mini-batch stochastic training at one lambda; adam adds weightDecay to the gradient as an L2 penalty, adamW applies it after the step, decoupled)")]
    [DefaultValue(SolverName.Auto)]
    public SolverName Solver { get; init; } = SolverName.Auto;

    [Description("linear (glmnet's model), mlp (ReLU hidden layers, trained by sgd, adam or adamW), or bayesianRidge (gaussian; scikit-learn's BayesianRidge: the noise and weight precisions chosen by evidence maximization, coefficients with posterior standard deviations; no lambda, path, penaltyFactors or validation; settings under bayesian)")]
    [DefaultValue(ModelName.Linear)]
    public ModelName Model { get; init; } = ModelName.Linear;

    [Description("mlp: units per hidden layer, one or two layers of 1 to 4096 units; default [100]")]
    public int[]? HiddenUnits { get; init; }

    [Description("mlp: dropout rate per hidden layer in [0, 1), or one rate for every layer; inverted dropout while training, off at prediction")]
    public double[]? Dropout { get; init; }

    [Description("sgd, adam, adamW: step size, > 0; default 0.01 for sgd, 0.001 for adam and adamW")]
    public double? LearningRate { get; init; }

    [Description("sgd, adam, adamW: rows per mini-batch, >= 1; default 32")]
    public int? BatchSize { get; init; }

    [Description("sgd, adam, adamW: passes over the training rows, 1 to 100000; default 100")]
    public int? Epochs { get; init; }

    [Description("sgd, adam, adamW: weight decay d >= 0 on the weights (not biases). sgd and adam add d*w to the gradient (an L2 penalty, rescaled by adam's step); adamW subtracts learningRate*d*w after the step (decoupled, Loshchilov and Hutter); default 0")]
    public double? WeightDecay { get; init; }

    [Description("sgd, adam, adamW: seed of the initial weights, row shuffles, dropout masks, noise and early-stopping split; default 0")]
    public int? Seed { get; init; }

    [Description("sgd, adam, adamW: stop when the loss on held-out rows stops improving, and keep the best epoch's weights")]
    public EarlyStoppingRequest? EarlyStopping { get; init; }

    [Description("sgd, adam, adamW: gaussian noise injected into the standardized features each epoch")]
    public AugmentationRequest? Augmentation { get; init; }

    [Description("Polynomial expansion of the features before fitting (any solver); expanded features are named like x1^2 and x1*x2, and prediction takes the original features")]
    public ExpansionRequest? Expansion { get; init; }

    [Description("Scale each feature to unit variance (1/n) for the fit; coefficients are reported on both scales")]
    [DefaultValue(true)]
    public bool Standardize { get; init; } = true;

    [Description("Fit an unpenalized intercept")]
    [DefaultValue(true)]
    public bool FitIntercept { get; init; } = true;

    [Description("Per-feature penalty factors by feature name (glmnet's penalty.factor): finite, >= 0, 0 leaves a feature unpenalized; unlisted features get 1. Rescaled to sum to the number of features, as glmnet does")]
    public Dictionary<string, double>? PenaltyFactors { get; init; }

    [Description("Lower bounds of the coefficients on the original scale (glmnet's lower.limits): a number for every feature, or an object {\"feature\": number} (unlisted features, and null, are unbounded). Each must be <= 0; 0 keeps a coefficient non-negative (scikit-learn's positive=True). With an expansion the names are the expanded features'. Fitted by coordinateDescent, proximalNewton (multinomial: every class's coefficient of the feature, ungrouped and grouped) and proximalGradient; the closed form, sgd, adam, adamW, mlp and bayesianRidge answer 400; the duality gap of a bounded fit is the box-constrained problem's")]
    public JsonElement? LowerLimits { get; init; }

    [Description("Upper bounds of the coefficients on the original scale (glmnet's upper.limits): a number for every feature, or an object {\"feature\": number} (unlisted features, and null, are unbounded). Each must be >= 0; as lowerLimits otherwise")]
    public JsonElement? UpperLimits { get; init; }

    [Description("model bayesianRidge: its hyperpriors, iteration limit and tolerance (tolerance and maxIterations above are the path solvers')")]
    public BayesianRequest? Bayesian { get; init; }

    [Description("The relaxed lasso (glmnet's relax = TRUE): every path lambda's active set is refitted without penalty, and the model at (lambda, gamma) blends the two, gamma * lasso + (1 - gamma) * refit. Lasso or elasticNet, gaussian or binomial, solver auto, coordinateDescent or proximalNewton. With kfold or holdout validation the (lambda, gamma) pair is chosen as cv.glmnet(relax = TRUE) does (result.relaxed.lambdaMin/gammaMin, lambda1se/gamma1se); without, the returned model is the last lambda's at the largest gamma. {} takes glmnet's gammas")]
    public RelaxRequest? Relax { get; init; }

    [Description("How lambda is chosen: holdout, k-fold, leave-one-out or GCV, and the selection rule")]
    public ValidationRequest? Validation { get; init; }

    [Description("Convergence threshold of iterative solvers (glmnet's thresh), > 0; default 1e-7. The closed form is exact")]
    [DefaultValue(FitSpec.DefaultTolerance)]
    public double? Tolerance { get; init; }

    [Description("What ends coordinate descent at each lambda: glmnet (default; glmnet's rule, the largest weighted squared coefficient change below tolerance times the null deviance per row) or dualityGap (gaussian only: the standard duality gap, scikit-learn's, or with lowerLimits/upperLimits the box-constrained problem's, at most tolerance times the null deviance per row, which bounds the objective's excess)")]
    [DefaultValue(StoppingName.Glmnet)]
    public StoppingName? Stopping { get; init; }

    [Description("Limit on passes of iterative solvers over the whole path (glmnet's maxit), > 0; default 100000")]
    public int? MaxIterations { get; init; }

    [Description("Seconds the fit may run once a worker starts it (time queued not counted), > 0 and at most " + FitRequestMapper.MaxTimeLimitText + "; the server's Limits:MaxFitSeconds applies too, and the "
        + "smaller wins. A path fit that reaches it after some lambdas succeeds with result.partial true (partialReason timeLimit) and the path "
        + "up to its last completed lambda; a fit with no lambda completed (and bayesianRidge, sgd, adam, adamW, mlp) fails")]
    public double? TimeLimitSeconds { get; init; }
}

/// <summary>
/// Where a running fit is, as its engine last reported it (stored beside the fraction, so any replica serves it). Each
/// member is present only when the fit's stage has it: the lambda members on a path (the all-rows path, then each
/// validation fold's), the fold members during k-fold or holdout validation, the epoch members for sgd, adam and adamW.
/// </summary>
public record ProgressDetail
{
    [Description("1-based position of the latest lambda fitted in the sequence being fitted (the path, or a fold's path)")]
    public int? LambdaIndex { get; init; }

    [Description("Lambdas in that sequence (a generated path that stops early reports its final count)")]
    public int? LambdaCount { get; init; }

    [Description("The latest lambda fitted")]
    public double? Lambda { get; init; }

    [Description("The latest path point's deviance ratio on the rows it was fitted on: 1 - deviance / null deviance (glmnet's dev.ratio)")]
    public double? DevianceRatio { get; init; }

    [Description("1-based fold the lambda members come from (folds run in parallel, so it can jump between folds)")]
    public int? Fold { get; init; }

    [Description("Folds of the validation")]
    public int? Folds { get; init; }

    [Description("Folds whose whole path is fitted")]
    public int? FoldsDone { get; init; }

    [Description("1-based epoch just finished (sgd, adam, adamW)")]
    public int? Epoch { get; init; }

    [Description("Epochs the training may take (early stopping may end it sooner)")]
    public int? Epochs { get; init; }

    [Description("The latest epoch's mean training loss (half squared error for gaussian, log loss for binomial), as the learning curve records it")]
    public double? Loss { get; init; }

    [Description("The latest epoch's mean loss on the rows held out for early stopping")]
    public double? ValidationLoss { get; init; }

    /// <summary>The detail of an engine report; a non-finite loss (a diverging run) is left out.</summary>
    public static ProgressDetail Of(Numerics.Fitting.FitProgress p) => new()
    {
        LambdaIndex = p.LambdaIndex,
        LambdaCount = p.LambdaCount,
        Lambda = Finite(p.Lambda),
        DevianceRatio = Finite(p.DevianceRatio),
        Fold = p.Fold,
        Folds = p.Folds,
        FoldsDone = p.FoldsDone,
        Epoch = p.Epoch,
        Epochs = p.Epochs,
        Loss = Finite(p.Loss),
        ValidationLoss = Finite(p.ValidationLoss),
    };

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

/// <summary>Progress of a job: the fraction done, the stage, where the engine is and, while it runs, an estimate of the time left.</summary>
public sealed record JobProgress : ProgressDetail
{
    public JobProgress()
    {
    }

    public JobProgress(ProgressDetail detail) : base(detail)
    {
    }

    [Description("Fraction done, in [0, 1], rounded to 3 decimals; 1 once succeeded")]
    [JsonPropertyOrder(-3)]
    public required double Fraction { get; init; }

    [Description("The stage in words (starting, gram, path: lambda 12 of 100, validation: fold 3 of 10, lambda 40 of 68 (2 of 10 done), epoch 7 of 100, metrics, done, failed, canceled); absent while queued")]
    [JsonPropertyOrder(-2)]
    public string? Stage { get; init; }

    [Description("Estimated seconds left while running: the running time so far times (1 - fraction) / fraction, rounded to 0.1 s; absent while queued, before 2% is done, and once finished")]
    [JsonPropertyOrder(-1)]
    public double? EtaSeconds { get; init; }
}

/// <summary>Why a job failed.</summary>
public sealed record JobError(string Title, string Detail);

/// <summary>A fit job: its state, progress, timestamps and, once succeeded, its result.</summary>
public sealed record FitJob
{
    public required string Id { get; init; }

    [Description("The name the request gave (request.name), if any")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    public required string DatasetId { get; init; }
    public required JobStatus Status { get; init; }
    public required JobProgress Progress { get; init; }
    public required int Attempts { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    [Description("Seconds spent queued and running")]
    public JobTimings Timings { get; init; } = new(null, null);

    [Description("True once DELETE asked a running fit to stop")]
    public bool CancelRequested { get; init; }
    public required FitRequest Request { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FitResultDocument? Result { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobError? Error { get; init; }
}

public sealed record JobTimings(double? QueuedSeconds, double? RunSeconds);

/// <summary>A page of fit jobs (results omitted; GET /v1/fits/{id} has them).</summary>
public sealed record FitJobPage(IReadOnlyList<FitJob> Items, int Total, int Offset, int Limit);
