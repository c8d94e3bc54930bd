using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace FeedbackHub.Bench.Chaos;

/// <summary>
/// Every call the chaos run makes to the API, counted: a 503 problem with Retry-After (what the API answers while its
/// database is away) is waited out and repeated like a well-behaved client would; any other 5xx is a bug.
/// </summary>
internal sealed class Api(string baseUrl) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    private int _unavailable;
    private int _errors;

    /// <summary>503 answers with Retry-After and a problem body.</summary>
    public int Unavailable => _unavailable;

    /// <summary>Every other 5xx (and a 503 without Retry-After).</summary>
    public int Errors => _errors;

    public void ResetCounts()
    {
        _unavailable = 0;
        _errors = 0;
    }

    /// <summary>Sends (repeating after Retry-After while the answer is a 503) and returns the status and the body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? key, object? body = null, bool repeat503 = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (key is not null)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (body is not null)
                request.Content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request);
            }
            catch (HttpRequestException) when (attempt < 20)
            {
                await Task.Delay(1000); // the API process itself is down (a restart): a client retries
                continue;
            }

            using (response)
            {
                var text = await response.Content.ReadAsStringAsync();
                var status = (int)response.StatusCode;
                if (status >= 500)
                {
                    var wellFormed = status == 503 && response.Headers.RetryAfter?.Delta is { } && text.Contains("urn:feedbackhub:problem:unavailable", StringComparison.Ordinal);
                    if (wellFormed)
                        Interlocked.Increment(ref _unavailable);
                    else
                        Interlocked.Increment(ref _errors);
                    if (wellFormed && repeat503 && attempt < 60)
                    {
                        await Task.Delay(response.Headers.RetryAfter!.Delta!.Value);
                        continue;
                    }
                }

                return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
            }
        }
    }

    public async Task<JsonElement> ExpectAsync(HttpStatusCode expected, HttpMethod method, string path, string? key, object? body = null)
    {
        var (status, json) = await SendAsync(method, path, key, body);
        return status == expected ? json : throw new InvalidOperationException($"{method} {path} answered {(int)status}, expected {(int)expected}: {json}");
    }

    public void Dispose() => _http.Dispose();

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
