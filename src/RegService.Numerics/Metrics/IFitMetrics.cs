namespace RegService.Numerics.Metrics;

/// <summary>Metrics of a model on a set of rows, whatever the family.</summary>
public interface IFitMetrics
{
    int Rows { get; }

    /// <summary>The loss validation minimizes: mean squared error (gaussian) or mean deviance per row (binomial).</summary>
    double Loss { get; }

    /// <summary>Standard error of <see cref="Loss"/> over the rows: sd of the per-row losses / sqrt(rows).</summary>
    double LossStandardError { get; }

    /// <summary>1 - deviance / null deviance, the null model being the mean of the same rows.</summary>
    double DevianceRatio { get; }
}
