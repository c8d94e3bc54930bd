namespace FeedbackHub.Messages;

/// <summary>The closed set of contracts the outbox may carry, by stable name.</summary>
public static class MessageTypes
{
    private static readonly Dictionary<string, Type> ByName = new[]
    {
        typeof(SendTestEmail),
        typeof(DeliverFeedback),
        typeof(SendInvitation),
        typeof(DeliverWebhook),
        typeof(SendPersonEmail),
    }.ToDictionary(t => NameOf(t), StringComparer.Ordinal);

    private static readonly HashSet<string> WakeUpOnly =
        [.. ByName.Where(t => Attribute.IsDefined(t.Value, typeof(WakeUpOnlyAttribute), inherit: false)).Select(t => t.Key)];

    public static string NameOf(Type type) => type.FullName ?? type.Name;

    public static Type Resolve(string name) =>
        ByName.TryGetValue(name, out var type)
            ? type
            : throw new InvalidOperationException($"Outbox message type '{name}' is not a known contract.");

    public static IEnumerable<Type> All => ByName.Values;

    /// <summary>Whether the named contract only wakes its consumer (<see cref="WakeUpOnlyAttribute"/>).</summary>
    public static bool IsWakeUpOnly(string name) => WakeUpOnly.Contains(name);
}
