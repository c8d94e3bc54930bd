using System.Diagnostics;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Api.Features.Language;

/// <summary>
/// Loads the sentence model in the background once the host has started, so the first live check does not wait for
/// it (about 2-3 s and 300+ MB, once per process). Off with <c>Language:WarmUpModel=false</c>; the model then loads on
/// the first full check.
/// </summary>
public sealed partial class LanguageModelWarmUp(IConfiguration configuration, ILogger<LanguageModelWarmUp> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!configuration.GetValue("Language:WarmUpModel", true) || SentenceClassifier.Shared.IsLoaded)
        {
            return Task.CompletedTask;
        }

        return Task.Run(() =>
        {
            var watch = Stopwatch.StartNew();
            try
            {
                SentenceClassifier.Shared.Classify([new SentenceInput("Warm-up.", new HashSet<string>())], 1);
                LogLoaded(logger, watch.ElapsedMilliseconds);
            }
#pragma warning disable CA1031 // the host keeps serving (rules still work); full checks report the same error when they run
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogFailed(logger, e);
            }
        }, stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Language model loaded in {Milliseconds} ms")]
    private static partial void LogLoaded(ILogger logger, long milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Language model failed to load")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
