using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>One answer as the oracle sees it.</summary>
public sealed record FuzzAnswer(int Status, string? ContentType, string Body);

public sealed record Violation(string Operation, string Role, string Mutation, int Status, string Kind, string Detail);

/// <summary>
/// What every answer must satisfy: no 5xx; a status the operation documents; a body of a documented content type that
/// matches the documented schema; errors as application/problem+json.
/// </summary>
public sealed class FuzzOracle(OpenApiSpec spec)
{
    public const string ServerError = "5xx";
    public const string UndocumentedStatus = "undocumented status";
    public const string NotProblem = "error is not application/problem+json";
    public const string SchemaMismatch = "body does not match the documented schema";
    public const string UndocumentedContent = "undocumented content type";
    public const string MissingBody = "documented body missing";
    public const string AcceptedInvalid = "accepted a request body the document calls invalid";

    private readonly JsonElement _problemSchema = spec.Root.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails");

    /// <param name="operation">The documented operation, or null for a path or method the document does not have.</param>
    public IEnumerable<(string Kind, string Detail)> Check(FuzzOperation? operation, string method, FuzzAnswer answer)
    {
        var mediaType = answer.ContentType?.Split(';')[0].Trim();
        if (answer.Status >= 500)
        {
            yield return (ServerError, Excerpt(answer.Body)); // one defect: not also "undocumented" or "not a problem"
            yield break;
        }

        if (answer.Status >= 400 && !string.Equals(mediaType, "application/problem+json", StringComparison.OrdinalIgnoreCase))
            yield return (NotProblem, $"Content-Type '{answer.ContentType ?? "(none)"}', body {Excerpt(answer.Body)}");

        var documented = operation?.ResponseFor(answer.Status);
        if (operation is not null && documented is null)
            yield return (UndocumentedStatus, $"documented: {string.Join(", ", operation.Responses.Keys)}");

        var hasBody = answer.Body.Length > 0 && method != "HEAD";
        if (!hasBody)
        {
            var reportedAsNotProblem = answer.Status >= 400 && !string.Equals(mediaType, "application/problem+json", StringComparison.OrdinalIgnoreCase);
            if (documented is { Count: > 0 } && method != "HEAD" && answer.Status is not (204 or 304) && !reportedAsNotProblem)
                yield return (MissingBody, $"documented {string.Join(", ", documented.Keys)}, got an empty body");
            yield break;
        }

        JsonElement? schema;
        if (documented is not null)
        {
            if (mediaType is null || !documented.TryGetValue(mediaType, out schema))
            {
                yield return (UndocumentedContent, $"'{answer.ContentType ?? "(none)"}', documented: {(documented.Count == 0 ? "no body" : string.Join(", ", documented.Keys))}");
                yield break;
            }
        }
        else if (answer.Status >= 400 && mediaType == "application/problem+json")
        {
            schema = _problemSchema; // no operation (or an undocumented status): still a problem document
        }
        else
        {
            yield break;
        }

        if (schema is null || !(mediaType ?? "").Contains("json", StringComparison.OrdinalIgnoreCase))
            yield break;
        JsonNode? node;
        string? parseError = null;
        try
        {
            node = JsonNode.Parse(answer.Body);
        }
        catch (JsonException e)
        {
            node = null;
            parseError = e.Message;
        }

        if (parseError is not null)
        {
            yield return (SchemaMismatch, "not JSON: " + parseError);
            yield break;
        }

        foreach (var error in spec.Schemas.Validate(schema.Value, node, maxErrors: 1))
            yield return (SchemaMismatch, error);
    }

    private static string Excerpt(string body)
    {
        var oneLine = body.ReplaceLineEndings(" ");
        return oneLine.Length <= 160 ? oneLine : oneLine[..160] + "...";
    }
}

/// <summary>
/// All violations of a run, grouped by (operation, status, kind) with one example each. Kinds that name one defect per
/// operation (5xx, undocumented status, no answer) get a line per group; kinds that usually share one cause across
/// operations (a body that fails the schema, a non-problem error) are listed per cause, with the groups it covers.
/// </summary>
public sealed partial class ViolationReport
{
    private static readonly string[] PerOperationKinds = ["no answer", FuzzOracle.UndocumentedStatus];

    private static readonly string[] KindOrder = ["no answer", FuzzOracle.ServerError, FuzzOracle.UndocumentedStatus];

    private readonly List<Violation> _violations = [];

    public int Count => _violations.Count;

    public void Add(Violation violation) => _violations.Add(violation);

    public string Render(string title)
    {
        var groups = _violations.GroupBy(v => (v.Operation, v.Status, v.Kind)).ToList();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{title}: {_violations.Count} violating answer(s) in {groups.Count} (operation, status, kind) group(s).");
        var kinds = groups.GroupBy(g => g.Key.Kind)
            .OrderBy(k => Array.IndexOf(KindOrder, k.Key) is var i and >= 0 ? i : KindOrder.Length)
            .ThenBy(k => k.Key, StringComparer.Ordinal);
        foreach (var kind in kinds)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"[{kind.Key}] {kind.Sum(g => g.Count())} answer(s), {kind.Count()} group(s)");
            if (PerOperationKinds.Contains(kind.Key))
            {
                foreach (var group in kind.OrderBy(g => g.Key.Operation, StringComparer.Ordinal).ThenBy(g => g.Key.Status))
                {
                    var e = group.First();
                    text.AppendLine(CultureInfo.InvariantCulture,
                        $"  - {group.Key.Operation} -> {Status(group.Key.Status)} ({group.Count()}x, roles {Roles(group)}): e.g. as {e.Role}, {e.Mutation}{Detail(e.Detail)}");
                }

                continue;
            }

            // A group can hold answers of several causes (e.g. every error after "Accept: application/xml" has no body).
            var byCause = kind.SelectMany(g => g.GroupBy(v => Cause(v)).Select(c => (Group: g.Key, Cause: c.Key, Answers: c.ToList())))
                .GroupBy(x => x.Cause)
                .OrderByDescending(c => c.Sum(x => x.Answers.Count));
            foreach (var cause in byCause)
            {
                var e = cause.First().Answers[0];
                text.AppendLine(CultureInfo.InvariantCulture, $"  - {cause.Key} ({cause.Sum(x => x.Answers.Count)} answers, {cause.Count()} groups)");
                text.AppendLine(CultureInfo.InvariantCulture, $"    e.g. {e.Operation} -> {e.Status} as {e.Role}, {e.Mutation}{Detail(e.Detail)}");
                var where = cause.GroupBy(x => x.Group.Operation).OrderBy(o => o.Key, StringComparer.Ordinal)
                    .Select(o => $"{o.Key} {string.Join(",", o.Select(x => x.Group.Status).Order())}");
                foreach (var line in Wrap(where, 150))
                    text.AppendLine("    " + line);
            }
        }

        return text.ToString();
    }

    private static string Status(int status) => status == 0 ? "no answer" : status.ToString(CultureInfo.InvariantCulture);

    private static string Roles(IEnumerable<Violation> group) => string.Join(",", group.Select(v => v.Role).Distinct().Order(StringComparer.Ordinal));

    private static string Detail(string detail) => detail.Length == 0 ? " (empty body)" : ": " + detail;

    /// <summary>
    /// What answers of one cause share: for a 5xx the request change that provoked it; otherwise the detail without
    /// what varies (indexes, body excerpts), kept apart for answers to "Accept: application/xml".
    /// </summary>
    private static string Cause(Violation violation)
    {
        if (violation.Kind == FuzzOracle.ServerError)
            return "after " + violation.Mutation;
        if (violation.Kind == FuzzOracle.AcceptedInvalid)
            return "invalid at " + TopLevelRegex().Match(violation.Detail).Value;
        var cause = IndexRegex().Replace(violation.Detail, "[i]");
        var body = cause.IndexOf(", body ", StringComparison.Ordinal);
        cause = body >= 0 ? cause[..body] : cause;
        return violation.Mutation == RequestGenerator.AcceptXml ? $"{cause} (after {violation.Mutation})" : cause;
    }

    private static IEnumerable<string> Wrap(IEnumerable<string> items, int width)
    {
        var line = new StringBuilder();
        foreach (var item in items)
        {
            if (line.Length > 0 && line.Length + item.Length + 2 > width)
            {
                yield return line.ToString();
                line.Clear();
            }

            line.Append(line.Length == 0 ? item : "; " + item);
        }

        if (line.Length > 0)
            yield return line.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\$(\.[A-Za-z0-9_]+)?")]
    private static partial System.Text.RegularExpressions.Regex TopLevelRegex();

    [System.Text.RegularExpressions.GeneratedRegex(@"\[\d+\]")]
    private static partial System.Text.RegularExpressions.Regex IndexRegex();
}
