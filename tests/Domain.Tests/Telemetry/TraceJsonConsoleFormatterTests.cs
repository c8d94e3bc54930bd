using System.Diagnostics;
using System.Text.Json;
using FeedbackHub.Domain.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Domain.Tests.Telemetry;

public sealed class TraceJsonConsoleFormatterTests
{
    [Fact]
    public void A_line_written_inside_an_activity_carries_its_trace_and_span_ids()
    {
        using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();

        var line = Write("Delivery {DeliveryId} sent", "d-1");

        Assert.Equal(activity.TraceId.ToHexString(), line.GetProperty("TraceId").GetString());
        Assert.Equal(activity.SpanId.ToHexString(), line.GetProperty("SpanId").GetString());
        Assert.Equal("Delivery d-1 sent", line.GetProperty("Message").GetString());
        Assert.Equal("d-1", line.GetProperty("State").GetProperty("DeliveryId").GetString());
        Assert.Equal("Information", line.GetProperty("LogLevel").GetString());
    }

    [Fact]
    public void A_line_written_outside_any_activity_has_no_trace_id()
    {
        Assert.Null(Activity.Current);

        var line = Write("Worker started");

        Assert.False(line.TryGetProperty("TraceId", out _));
        Assert.Equal("Worker started", line.GetProperty("Message").GetString());
    }

    [Fact]
    public void Scopes_are_never_written()
    {
        // ASP.NET Core's request scope holds the raw path, which can hold a candidate's link token.
        var scopes = new LoggerExternalScopeProvider();
        using var scope = scopes.Push(new Dictionary<string, object> { ["RequestPath"] = "/r/secret-token" });

        var text = WriteRaw("Request answered", scopes);

        Assert.DoesNotContain("secret-token", text, StringComparison.Ordinal);
    }

    private static JsonElement Write(string format, params object[] args) =>
        JsonDocument.Parse(WriteRaw(format, null, args)).RootElement;

    private static string WriteRaw(string format, IExternalScopeProvider? scopes, params object[] args)
    {
        var options = new JsonConsoleFormatterOptions { TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ", UseUtcTimestamp = true, IncludeScopes = true };
        using var formatter = new TraceJsonConsoleFormatter(new StaticOptions(options));
        var state = new FormattedState(format, args);
        var entry = new LogEntry<FormattedState>(LogLevel.Information, "FeedbackHub.Test", new EventId(7), state, null, (s, _) => s.ToString());
        using var writer = new StringWriter();
        formatter.Write(entry, scopes, writer);
        return writer.ToString();
    }

    /// <summary>The shape LoggerMessage and ILogger.Log hand to formatters: the values by name plus {OriginalFormat}.</summary>
    private sealed class FormattedState(string format, object[] args) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly List<KeyValuePair<string, object?>> _values = Names(format).Zip(args, (n, a) => new KeyValuePair<string, object?>(n, a))
            .Append(new KeyValuePair<string, object?>("{OriginalFormat}", format)).ToList();

        public int Count => _values.Count;

        public KeyValuePair<string, object?> this[int index] => _values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _values.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() =>
            _values.Where(v => v.Key != "{OriginalFormat}").Aggregate(format, (text, v) => text.Replace("{" + v.Key + "}", v.Value?.ToString(), StringComparison.Ordinal));

        private static IEnumerable<string> Names(string format) =>
            System.Text.RegularExpressions.Regex.Matches(format, @"\{(\w+)\}").Select(m => m.Groups[1].Value);
    }

    private sealed class StaticOptions(JsonConsoleFormatterOptions value) : IOptionsMonitor<JsonConsoleFormatterOptions>
    {
        public JsonConsoleFormatterOptions CurrentValue => value;

        public JsonConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<JsonConsoleFormatterOptions, string?> listener) => null;
    }
}
