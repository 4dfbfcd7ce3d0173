using RegService.Numerics.Solvers;

namespace RegService.Numerics.Tests.Solvers;

/// <summary>
/// A fit's helper threads (<see cref="FitTeam"/>): every item of a loop runs exactly once, on the
/// caller and the helpers, loop after loop (with waits between them long enough for a helper to block or end, and with
/// helpers woken ahead of a loop); an item's
/// exception reaches the caller; a stopped team refuses work.
/// </summary>
public class FitTeamTests
{
    [Fact]
    public void EveryItemRunsOnceInEachLoop()
    {
        var team = new FitTeam(helpers: 1);
        try
        {
            var threads = new HashSet<int>();
            for (int loop = 0; loop < 200; loop++)
            {
                int count = 1 + loop % 17;
                var runs = new int[count];
                team.For(count, i =>
                {
                    Interlocked.Increment(ref runs[i]);
                    lock (threads) threads.Add(Environment.CurrentManagedThreadId);
                    Thread.SpinWait(2000);
                });
                Assert.All(runs, r => Assert.Equal(1, r));
                // Now and then a wait past the helper's spinning, and once past its idle end.
                if (loop % 50 == 10) Thread.Sleep(20);
                if (loop == 120) Thread.Sleep(FitTeam.IdleMilliseconds + 200);
            }
            Assert.Contains(Environment.CurrentManagedThreadId, threads);
        }
        finally
        {
            team.Stop();
        }
    }

    [Fact]
    public void AWakeAheadOfALoopLeavesItsItemsRunOnceAndAHelperTakesSome()
    {
        var team = new FitTeam(helpers: 1);
        try
        {
            int caller = Environment.CurrentManagedThreadId, byHelper = 0;
            for (int loop = 0; loop < 40; loop++)
            {
                // The helper has blocked (past its spinning) before the wake; the loop follows it closely.
                Thread.Sleep(loop % 4 == 0 ? 30 : 1);
                team.Wake();
                team.Wake();
                var runs = new int[32];
                team.For(runs.Length, i =>
                {
                    Interlocked.Increment(ref runs[i]);
                    if (Environment.CurrentManagedThreadId != caller) Interlocked.Increment(ref byHelper);
                    Thread.Sleep(1);
                });
                Assert.All(runs, r => Assert.Equal(1, r));
            }
            Assert.True(byHelper > 0, "the helper took no item of 40 loops of 32 one-millisecond items");
        }
        finally
        {
            team.Stop();
        }
        team.Wake();   // after Stop: nothing to wake, and no error
    }

    [Fact]
    public void AnItemsExceptionReachesTheCaller()
    {
        var team = new FitTeam(helpers: 1);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => team.For(64, i =>
            {
                Thread.SpinWait(1000);
                if (i == 37) throw new InvalidOperationException("item 37");
            }));
            Assert.Equal("item 37", e.Message);
            // The team still works afterwards.
            int sum = 0;
            team.For(10, i => Interlocked.Add(ref sum, i));
            Assert.Equal(45, sum);
        }
        finally
        {
            team.Stop();
        }
        Assert.Throws<ObjectDisposedException>(() => team.For(1, _ => { }));
    }
}
