using Microsoft.Extensions.Configuration;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// Where the hosts read secrets as files, one per key named like its environment variable (<c>Webhooks__SecretKey</c>,
/// <c>ConnectionStrings__Postgres</c>): a Kubernetes Secret mounted as a volume, or compose secrets. A value in a file
/// wins over the same key in the environment. Missing folder: nothing is read.
/// </summary>
public static class SecretFiles
{
    public const string DirectoryKey = "FEEDBACKHUB_SECRETS_DIR";
    public const string DefaultDirectory = "/run/secrets/feedbackhub";

    public static string Directory(IConfiguration configuration) =>
        configuration?[DirectoryKey] is { Length: > 0 } dir ? dir : DefaultDirectory;
}
