using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// The outer working set of the proximal Newton and proximal gradient solvers (<see cref="OuterWorkingSet"/>): the
/// sequential strong rule |g_j| ≥ alpha (2 lambda − lambda_prev) v_j, the KKT condition |g_j| ≤ lambda alpha v_j outside,
/// unpenalized features always in, excluded ones never, members in the order they joined.
/// </summary>
public class OuterWorkingSetTests
{
    //                                        0    1    2    3    4    5
    private static readonly double[] Factors = [1.0, 1.0, 2.0, 0.0, 1.0, 0.5];
    private static readonly bool[] Excluded = [false, false, false, false, true, false];

    [Fact]
    public void TheStrongRuleTakesTheFeaturesAboveItsCutAndEveryUnpenalizedOne()
    {
        var set = new OuterWorkingSet(Factors, 0.5, Excluded);
        // lambda 1 from lambda_prev 1.2: cut 0.5 (2 - 1.2) = 0.4, so |g_j| >= 0.4 v_j.
        double[] g = [0.41, -0.39, 0.79, 0.0, 9.0, -0.2];
        int joined = set.JoinStrong(new AbsoluteGradient(g), 1.0, 1.2);
        Assert.Equal(0.4, set.StrongCut(1.0, 1.2), 15);
        Assert.Equal(new[] { 0, 3, 5 }, set.Members);   // 1 below, 2 below 0.8, 3 unpenalized, 4 excluded, 5 at 0.2 = 0.4 * 0.5
        Assert.Equal(3, joined);
        Assert.Equal(2, set.Outside);   // 5 candidates, 3 in
    }

    [Fact]
    public void TheCandidatesOutsideAreInFeatureOrderWithoutTheExcluded()
    {
        var set = new OuterWorkingSet(Factors, 0.5, Excluded);
        set.Add(3);
        set.Add(0);
        Assert.Equal(new[] { 1, 2, 5 }, set.OutsideCandidates());   // 4 excluded, 0 and 3 in
        Assert.Equal(set.Outside, set.OutsideCandidates().Count);
    }

    [Fact]
    public void TheStrongCutIsZeroWhenLambdaFallsByMoreThanHalf()
    {
        var set = new OuterWorkingSet(Factors, 1.0, Excluded);
        Assert.Equal(0.0, set.StrongCut(1.0, 3.0));
        set.JoinStrong(new AbsoluteGradient(new double[6]), 1.0, 3.0);
        Assert.Equal(new[] { 0, 1, 2, 3, 5 }, set.Members);   // every candidate: 0 >= 0
    }

    [Fact]
    public void OnlyKktViolatorsOutsideJoinInFeatureOrder()
    {
        var set = new OuterWorkingSet(Factors, 0.5, Excluded);
        set.Add(2);
        // lambda 1: the KKT cut is 0.5; feature j violates when |g_j| > 0.5 v_j.
        double[] g = [0.5, -0.51, 5.0, 0.0, 9.0, 0.26];
        Assert.Equal(2, set.JoinViolators(new AbsoluteGradient(g), 1.0));
        Assert.Equal(new[] { 2, 1, 5 }, set.Members);   // 0 sits on the boundary; 2 was in; 3 is unpenalized at 0 gradient; 4 excluded
        Assert.Equal(new[] { 1, 2, 5 }, set.Sorted());
        Assert.True(set.Flags[1] && set.Contains(5) && !set.Contains(0));
        Assert.Equal(0, set.JoinViolators(new AbsoluteGradient(g), 1.0));
    }

    [Fact]
    public void ClearEmptiesTheSetForAFreshChoice()
    {
        var set = new OuterWorkingSet(Factors, 1.0, Excluded);
        Assert.True(set.Add(1));
        Assert.False(set.Add(1));
        set.Add(5);
        set.Clear();
        Assert.Empty(set.Members);
        Assert.DoesNotContain(true, set.Flags);
        Assert.Equal(new[] { 0, 1, 2, 3, 5 }, set.OutsideOf([true, true, true, true, false, true]));
    }
}
