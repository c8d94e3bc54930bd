using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FeedbackHub.Api.Tests.Templates;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>
/// A tenant with a key per role and real resources created through the API (applications, a published template,
/// feedback, webhooks, a tenant rule, an extra API key, a test email, a rejection and its candidate link), so path
/// parameters can be real ids. No deliveries: those need the worker, which this host does not run.
/// </summary>
public sealed class FuzzWorld
{
    private readonly Dictionary<string, List<string>> _ids = [];
    private readonly Dictionary<string, string?> _keys = [];

    private FuzzWorld(string label, TestTenant tenant)
    {
        Label = label;
        Tenant = tenant;
    }

    public string Label { get; }

    public TestTenant Tenant { get; }

    /// <summary>The other tenant: its ids are used as foreign ids (they must answer as if they did not exist).</summary>
    public FuzzWorld? Other { get; set; }

    public IReadOnlyDictionary<string, List<string>> Ids => _ids;

    public string? KeyFor(string role) => _keys[role];

    public static async Task<FuzzWorld> SeedAsync(ApiFactory api, HttpClient http, string label)
    {
        // Webhook targets are loopback (a closed port): a ping or a send from the fuzz never leaves the machine.
        var tenant = await api.CreateTenantAsync("Fuzz " + label, Domain.Model.TenantSettings.Default with { AllowPrivateWebhookTargets = true });
        var world = new FuzzWorld(label, tenant);
        world._keys["admin"] = tenant.AdminKey;
        foreach (var role in new[] { "recruiter", "interviewer", "legal", "integration" })
            world._keys[role] = await tenant.KeyAsync(role);
        world._keys["no key"] = null;
        world._keys["unknown key"] = "fh_" + new string('x', 40);

        for (var i = 0; i < 3; i++)
        {
            var external = $"fuzz-{label}-app-{i}";
            var application = await world.SendAsync(http, "integration", HttpMethod.Put, $"/v1/applications/by-external-id/{external}", new
            {
                candidate = new { externalId = $"fuzz-{label}-cand-{i}", firstName = "Ada", lastName = "Lovelace", email = MailSink.NewAddress("fuzz") },
                positionTitle = "Backend Engineer",
                stageReached = "onsite",
            });
            world.Add("applications-ext", external);
            world.Add("applications", application["id"]!.GetValue<string>());
            world.Add("candidates", application["candidate"]!["id"]!.GetValue<string>());
            world.Add("candidates-ext", $"fuzz-{label}-cand-{i}");
        }

        var template = await world.SendAsync(http, "recruiter", HttpMethod.Post, "/v1/templates", TemplateLifecycleTests.Request());
        var templateId = template["templateId"]!.GetValue<string>();
        await world.SendAsync(http, "recruiter", HttpMethod.Post, $"/v1/templates/{templateId}/versions/1/submit", null);
        await world.SendAsync(http, "legal", HttpMethod.Post, $"/v1/templates/{templateId}/versions/1/publish", null);
        var draft = await world.SendAsync(http, "recruiter", HttpMethod.Post, "/v1/templates", TemplateLifecycleTests.Request(name: "Fuzz draft"));
        world.Add("templates", templateId);
        world.Add("templates", draft["templateId"]!.GetValue<string>());

        foreach (var applicationId in world._ids["applications"].Take(2))
        {
            var feedback = await world.SendAsync(http, "interviewer", HttpMethod.Post, "/v1/feedback", new { applicationId, templateId });
            world.Add("feedback", feedback["id"]!.GetValue<string>());
        }

        for (var i = 0; i < 2; i++)
        {
            var webhook = await world.SendAsync(http, "admin", HttpMethod.Post, "/v1/webhooks",
                new { url = $"https://127.0.0.1:9/hooks/fuzz-{label}-{i}", events = new[] { "delivery.sent", "feedback.requested" }, description = "Fuzz" });
            world.Add("webhooks", webhook["id"]!.GetValue<string>());
        }

        var rule = await world.SendAsync(http, "admin", HttpMethod.Post, "/v1/language/tenant-rules",
            new { kind = "term", category = "comparison", phrase = $"Project Fuzz {label}", severity = "block", reason = "Codename.", suggestion = "Describe the skills." });
        world.Add("tenant-rules", rule["id"]!.GetValue<string>());
        var key = await world.SendAsync(http, "admin", HttpMethod.Post, "/v1/api-keys", new { displayName = "Fuzz extra key", roles = new[] { "recruiter" } });
        world.Add("api-keys", key["id"]!.GetValue<string>());
        var email = await world.SendAsync(http, "admin", HttpMethod.Post, "/v1/diagnostics/test-email", new { to = MailSink.NewAddress("fuzz") });
        world.Add("test-email", email["id"]!.GetValue<string>());
        var rejection = await world.SendAsync(http, "recruiter", HttpMethod.Post, $"/v1/applications/{world._ids["applications"][2]}/rejection", new { });
        world.Add("feedback-requests", new Uri(rejection["requestUrl"]!.GetValue<string>()).Segments[^1]); // the candidate's token
        var deliveries = await world.SendAsync(http, "admin", HttpMethod.Get, "/v1/deliveries", null);
        foreach (var delivery in deliveries["items"]!.AsArray())
            world.Add("deliveries", delivery!["id"]!.GetValue<string>());
        return world;
    }

    private void Add(string kind, string id)
    {
        if (!_ids.TryGetValue(kind, out var list))
            _ids[kind] = list = [];
        list.Add(id);
    }

    /// <summary>A request as a role of this tenant, during seeding (must succeed).</summary>
    public async Task<JsonNode> SendAsync(HttpClient http, string role, HttpMethod method, string url, object? body)
    {
        using var request = new HttpRequestMessage(method, url);
        if (KeyFor(role) is { } secret)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        if (body is not null)
            request.Content = new StringContent(JsonSerializer.Serialize(body, HttpAssertions.Json), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Seeding {Label}: {method} {url} as {role} answered {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    /// <summary>A real id for the path parameter (by the resource the path names), or a random uuid when there is none.</summary>
    public string PathValue(FuzzOperation operation, FuzzParameter parameter, Random random)
    {
        var segments = operation.Path.Split('/');
        var at = Array.IndexOf(segments, "{" + parameter.Name + "}");
        var resource = at > 0 ? segments[at - 1] : "";
        var kind = (resource, parameter.Name, operation.Method) switch
        {
            (_, "version", _) => null,
            ("applications", _, "PUT") when segments.Length == 4 => "applications-ext",
            ("deliveries", "deliveryId", _) => "webhook-deliveries",
            ("test-email", _, _) => "test-email",
            _ => resource,
        };
        if (kind is null)
            return (1 + random.Next(2)).ToString(CultureInfo.InvariantCulture);
        if (kind == "applications-ext" && random.Next(4) == 0)
            return $"fuzz-{Label}-new-{random.Next(1000)}"; // an upsert that creates
        return _ids.TryGetValue(kind, out var ids) && ids.Count > 0 ? ids[random.Next(ids.Count)] : Guid.NewGuid().ToString();
    }

    /// <summary>A valid query value, or null to leave the parameter out (e.g. status: the document lists no values).</summary>
    public string? QueryValue(FuzzOperation operation, FuzzParameter parameter, Random random) => parameter.Name switch
    {
        "limit" => (1 + random.Next(100)).ToString(CultureInfo.InvariantCulture),
        "published" => random.Next(2) == 0 ? "true" : "false",
        "applicationId" => _ids["applications"][random.Next(2)],
        "externalId" => _ids["candidates-ext"][random.Next(3)],
        "updatedSince" => DateTimeOffset.UtcNow.AddDays(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        "position" => "Backend Engineer",
        _ => null,
    };

    /// <summary>A meaningful string for a body property, by its name and format.</summary>
    public string StringFor(string name, string? format, Random random, IReadOnlyList<string> events)
    {
        if (format == "uuid")
        {
            var kind = name switch
            {
                "applicationId" => "applications",
                "templateId" => "templates",
                "feedbackId" => "feedback",
                _ => null,
            };
            return kind is not null && _ids.TryGetValue(kind, out var ids) ? ids[random.Next(ids.Count)] : Guid.NewGuid().ToString();
        }

        if (format == "date-time")
            return DateTimeOffset.UtcNow.AddMinutes(-random.Next(1000)).ToString("O", CultureInfo.InvariantCulture);
        var n = random.Next(100_000).ToString(CultureInfo.InvariantCulture);
        return name switch
        {
            "email" or "to" or "senderAddress" or "replyTo" => MailSink.NewAddress("fuzz"),
            "url" => $"https://127.0.0.1:9/hooks/fuzz-{n}",
            "event" => events[random.Next(events.Count)],
            "role" => RequestGenerator.Roles[random.Next(5)],
            "locale" or "defaultLocale" => "en",
            "jurisdiction" => new[] { "US", "UK", "DE" }[random.Next(3)],
            "criterion" => "problem-solving",
            "band" => "meets",
            "externalId" => $"fuzz-{Label}-ext-{n}",
            "firstName" => "Grace",
            "lastName" => "Hopper",
            "positionTitle" or "title" => "Backend Engineer",
            "phrase" => $"Project Fuzz {n}",
            "displayName" or "name" => $"Fuzz {n}",
            "category" => "comparison",
            _ => "Thank you for the time you gave us on the exercise.",
        };
    }

    /// <summary>Example bodies name hosts that would need DNS (none here): point them at a literal public address.</summary>
    public static void FixBody(JsonNode node)
    {
        if (node is JsonObject obj && obj["url"] is JsonValue url && url.GetValueKind() == JsonValueKind.String)
            obj["url"] = "https://127.0.0.1:9/hooks/fuzz-example";
    }
}
