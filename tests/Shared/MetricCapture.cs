using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Tests;

/// <summary>
/// Records the measurements of the named instruments of one host: only meters made by that host's
/// <see cref="IMeterFactory"/>, so hosts of other test classes running at the same time are not counted.
/// </summary>
public sealed class MetricCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();

    public MetricCapture(IServiceProvider host, params string[] instruments)
    {
        var factory = host.GetRequiredService<IMeterFactory>();
        var names = instruments.ToHashSet(StringComparer.Ordinal);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && names.Contains(instrument.Name))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Add(i, value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, _) => Add(i, value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Add(i, value, tags));
        _listener.Start();
    }

    public IReadOnlyList<Measurement> Measurements => [.. _measurements];

    /// <summary>Asks observable instruments (gauges) for their values now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    public IReadOnlyList<Measurement> Of(string instrument, params (string Key, string Value)[] tags) =>
        Measurements.Where(m => m.Instrument == instrument && tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && v == t.Value)).ToList();

    /// <summary>Waits until a measurement of the instrument with these tags has been recorded.</summary>
    public async Task<Measurement> WaitForAsync(string instrument, params (string Key, string Value)[] tags)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (Of(instrument, tags) is [var first, ..])
                return first;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"No {instrument} measurement with {string.Join(", ", tags)}; seen: {string.Join("; ", Measurements)}");
            await Task.Delay(50);
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Add<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags) where T : struct =>
        _measurements.Enqueue(new Measurement(instrument.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
            tags.ToArray().ToDictionary(t => t.Key, t => Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")));

    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, string> Tags)
    {
        public override string ToString() => $"{Instrument}={Value} [{string.Join(", ", Tags.Select(t => $"{t.Key}={t.Value}"))}]";
    }
}
