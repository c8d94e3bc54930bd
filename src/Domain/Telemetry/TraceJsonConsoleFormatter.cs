using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Domain.Telemetry;

/// <summary>
/// The console's JSON lines (the fields of the built-in <c>json</c> formatter) plus <c>TraceId</c> and <c>SpanId</c> of
/// the current activity, so a log line finds its trace. Scopes are never written: ASP.NET Core's request scope holds
/// the raw path, and candidate links carry their token in it.
/// </summary>
public sealed class TraceJsonConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "feedbackhub-json";

    private readonly IDisposable? _reload;
    private JsonConsoleFormatterOptions _options;

    public TraceJsonConsoleFormatter(IOptionsMonitor<JsonConsoleFormatterOptions> options) : base(FormatterName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.CurrentValue;
        _reload = options.OnChange(o => _options = o);
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is null && message is null)
            return;

        var options = _options;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, options.JsonWriterOptions))
        {
            json.WriteStartObject();
            if (options.TimestampFormat is { } format)
                json.WriteString("Timestamp", (options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now).ToString(format, CultureInfo.InvariantCulture));
            json.WriteNumber("EventId", logEntry.EventId.Id);
            json.WriteString("LogLevel", logEntry.LogLevel.ToString());
            json.WriteString("Category", logEntry.Category);
            json.WriteString("Message", message);
            if (logEntry.Exception is { } exception)
                json.WriteString("Exception", exception.ToString());
            if (Activity.Current is { } activity)
            {
                json.WriteString("TraceId", activity.TraceId.ToHexString());
                json.WriteString("SpanId", activity.SpanId.ToHexString());
            }

            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> state)
            {
                json.WriteStartObject("State");
                foreach (var (key, value) in state)
                    json.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write(Environment.NewLine);
    }

    public void Dispose() => _reload?.Dispose();
}
