using Microsoft.Extensions.Logging;

namespace FeedbackHub.Worker.Tests;

/// <summary>A line a <see cref="ListLogger{T}"/> kept: its level, the formatted message and the exception logged with it.</summary>
internal sealed record LogLine(LogLevel Level, string Message, Exception? Exception);

/// <summary>Keeps what was logged, to count lines and read them (thread-safe).</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<LogLine> _lines = [];

    public IReadOnlyList<LogLine> Lines
    {
        get
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
            _lines.Add(new LogLine(logLevel, formatter(state, exception), exception));
    }
}
