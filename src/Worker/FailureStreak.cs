namespace FeedbackHub.Worker;

/// <summary>
/// Logs the failures of one repeated operation (a loop's pass, a dispatcher's claim) without flooding the log while
/// they go on (an outage): the first failure is a Warning with its exception; further ones a Debug line at most once
/// per <see cref="DebugEvery"/>, and a Warning again once per <see cref="WarnAgainEvery"/> (so a long outage, or a daily
/// run that keeps failing, stays visible at Warning); the first success after failures is one Information line. Lines
/// carry the operation's name, the exception type and counts, nothing else. One loop's: not thread-safe.
/// </summary>
public sealed partial class FailureStreak(string name, string operation, ILogger logger, TimeProvider time)
{
    public static readonly TimeSpan DebugEvery = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan WarnAgainEvery = TimeSpan.FromMinutes(10);

    private int _failures;
    private long _startedAt;
    private long _lastWarningAt;
    private long _lastLineAt;

    /// <summary>True from a failure until the next success.</summary>
    public bool Failing => _failures > 0;

    public void Failed(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var now = time.GetTimestamp();
        var kind = exception.GetType().Name;
        if (_failures++ == 0)
        {
            _startedAt = _lastWarningAt = _lastLineAt = now;
            LogFailed(logger, name, operation, kind, exception);
        }
        else if (time.GetElapsedTime(_lastWarningAt, now) >= WarnAgainEvery)
        {
            _lastWarningAt = _lastLineAt = now;
            var seconds = Seconds(now);
            LogStillFailingWarning(logger, name, operation, kind, _failures, seconds, exception);
        }
        else if (time.GetElapsedTime(_lastLineAt, now) >= DebugEvery)
        {
            _lastLineAt = now;
            var seconds = Seconds(now);
            LogStillFailing(logger, name, operation, kind, _failures, seconds);
        }
    }

    public void Succeeded()
    {
        if (_failures == 0)
            return;
        var seconds = Seconds(time.GetTimestamp());
        LogWorksAgain(logger, name, operation, _failures, seconds);
        _failures = 0;
    }

    private long Seconds(long now) => (long)time.GetElapsedTime(_startedAt, now).TotalSeconds;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Name}: {Operation} failed ({ExceptionType}); trying again until it works")]
    private static partial void LogFailed(ILogger logger, string name, string operation, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Name}: {Operation} still fails ({ExceptionType}; failures: {Failures} in {Seconds} s)")]
    private static partial void LogStillFailing(ILogger logger, string name, string operation, string exceptionType, int failures, long seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Name}: {Operation} still fails ({ExceptionType}; failures: {Failures} in {Seconds} s)")]
    private static partial void LogStillFailingWarning(ILogger logger, string name, string operation, string exceptionType, int failures, long seconds, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Name}: {Operation} works again (failures: {Failures} in {Seconds} s)")]
    private static partial void LogWorksAgain(ILogger logger, string name, string operation, int failures, long seconds);
}
