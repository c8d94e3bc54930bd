using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>A repeated operation that keeps failing (an outage) logs one warning, not one per try.</summary>
public sealed class FailureStreakTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger<FailureStreakTests> _log = new();
    private readonly FailureStreak _streak;

    public FailureStreakTests() => _streak = new FailureStreak("outbox relay", "publishing due messages", _log, _time);

    [Fact]
    public void The_first_failure_is_a_warning_with_its_exception_and_the_loops_name()
    {
        var failure = new TimeoutException("the server did not answer");

        _streak.Failed(failure);

        var line = Assert.Single(_log.Lines);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Same(failure, line.Exception);
        Assert.Equal("outbox relay: publishing due messages failed (TimeoutException); trying again until it works", line.Message);
        Assert.True(_streak.Failing);
    }

    [Fact]
    public void Failures_within_a_second_of_the_first_log_nothing_more()
    {
        _streak.Failed(new TimeoutException());
        for (var i = 0; i < 9; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            _streak.Failed(new TimeoutException());
        }

        Assert.Single(_log.Lines); // the first warning: 9 more failures in 0.9 s, nothing at any level
    }

    [Fact]
    public void While_failures_go_on_a_debug_line_comes_at_most_once_a_second()
    {
        _streak.Failed(new TimeoutException());
        for (var i = 0; i < 50; i++) // five failures a second for ten seconds
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            _streak.Failed(new InvalidOperationException());
        }

        var later = _log.Lines.Skip(1).ToList();
        Assert.Equal(10, later.Count);
        Assert.All(later, l => Assert.Equal(LogLevel.Debug, l.Level));
        Assert.All(later, l => Assert.Null(l.Exception));
        Assert.Equal("outbox relay: publishing due messages still fails (InvalidOperationException; failures: 6 in 1 s)", later[0].Message);
        Assert.Single(_log.Lines, l => l.Level >= LogLevel.Warning);
    }

    [Fact]
    public void A_success_after_failures_is_one_information_line_and_the_next_failure_is_a_warning_again()
    {
        _streak.Failed(new TimeoutException());
        _time.Advance(TimeSpan.FromMilliseconds(300));
        _streak.Failed(new TimeoutException());
        _time.Advance(TimeSpan.FromSeconds(2));

        _streak.Succeeded();
        _streak.Succeeded(); // nothing was failing any more: no line

        var back = Assert.Single(_log.Lines, l => l.Level == LogLevel.Information);
        Assert.Equal("outbox relay: publishing due messages works again (failures: 2 in 2 s)", back.Message);
        Assert.False(_streak.Failing);

        _time.Advance(TimeSpan.FromMilliseconds(100));
        var again = new TimeoutException();
        _streak.Failed(again);
        Assert.Equal([LogLevel.Warning, LogLevel.Information, LogLevel.Warning], _log.Lines.Select(l => l.Level));
        Assert.Same(again, _log.Lines[^1].Exception);
    }

    [Fact]
    public void Successes_alone_log_nothing()
    {
        _streak.Succeeded();
        _time.Advance(TimeSpan.FromSeconds(5));
        _streak.Succeeded();

        Assert.Empty(_log.Lines);
    }

    [Fact]
    public void A_streak_that_lasts_is_a_warning_again_every_ten_minutes()
    {
        // A daily retention run that keeps failing, or a long outage, stays visible at Warning.
        _streak.Failed(new TimeoutException());
        for (var i = 0; i < 25 * 60; i++) // once a second for 25 minutes
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            _streak.Failed(new TimeoutException());
        }

        var warnings = _log.Lines.Where(l => l.Level == LogLevel.Warning).ToList();
        Assert.Equal(3, warnings.Count); // at 0, 10 and 20 minutes
        Assert.All(warnings, w => Assert.NotNull(w.Exception));
        Assert.Equal("outbox relay: publishing due messages still fails (TimeoutException; failures: 601 in 600 s)", warnings[1].Message);
        Assert.Equal(25 * 60 - 2, _log.Lines.Count(l => l.Level == LogLevel.Debug));
    }

    [Fact]
    public async Task A_batch_loop_logs_an_outage_of_many_failing_passes_as_one_warning_and_one_line_when_it_works_again()
    {
        var loop = new FlakyLoop(failures: 40, _log);

        await loop.StartAsync(CancellationToken.None);
        await loop.Worked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await loop.StopAsync(CancellationToken.None);

        var warning = Assert.Single(_log.Lines, l => l.Level >= LogLevel.Warning); // 40 passes failed within milliseconds
        Assert.IsType<TimeoutException>(warning.Exception);
        Assert.StartsWith("flaky loop: a test pass failed (TimeoutException)", warning.Message, StringComparison.Ordinal);
        var back = Assert.Single(_log.Lines, l => l.Level == LogLevel.Information);
        Assert.StartsWith("flaky loop: a test pass works again (failures: 40 in", back.Message, StringComparison.Ordinal);
    }

    /// <summary>A loop whose first passes fail fast (a database outage), then works.</summary>
    private sealed class FlakyLoop(int failures, ILogger logger) : BatchLoop(TimeProvider.System, logger, "flaky loop", "a test pass")
    {
        private int _passes;

        public TaskCompletionSource Worked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override int BatchSize => 1;

        protected override TimeSpan Pause => TimeSpan.FromMilliseconds(1);

        protected override Task<int> RunBatchAsync(CancellationToken ct)
        {
            if (++_passes <= failures)
                throw new TimeoutException();
            Worked.TrySetResult();
            return Task.FromResult(0);
        }
    }
}
