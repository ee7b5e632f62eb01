using System.Security.Cryptography;
using System.Text.Json;
using Hub.Core.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Security;

/// <summary>The admin key that guards <c>/api/admin</c>. Bound from <c>Hub:Admin</c>.</summary>
public sealed class AdminOptions
{
    public const string SectionName = "Hub:Admin";

    /// <summary>Bearer key for the admin API; at least 32 characters. Generated into the data folder in Development.</summary>
    public string? ApiKey { get; set; }
}

public sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options) =>
        options.ApiKey is { Length: >= 32 }
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Hub:Admin:ApiKey must be set to a random value of at least 32 characters (e.g. `openssl rand -base64 32`).");
}

/// <summary>
/// In Development only: when no admin key or encryption key is configured, creates them once in
/// the data folder (with a warning) so one command runs Hub. Outside Development nothing is made
/// up and validation stops start-up instead.
/// </summary>
public sealed partial class DevelopmentKeys(IHostEnvironment environment, DataDirectory data, ILogger<DevelopmentKeys> logger)
    : IPostConfigureOptions<EncryptionOptions>, IPostConfigureOptions<AdminOptions>
{
    private static readonly Lock FileLock = new();

    public void PostConfigure(string? name, EncryptionOptions options)
    {
        if (!environment.IsDevelopment() || options.Keys.Count > 0)
        {
            return;
        }

        var path = data.Combine("encryption-keys.json");
        lock (FileLock)
        {
            if (!File.Exists(path))
            {
                var created = new DevelopmentKeyFile("dev-1", new() { ["dev-1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) });
                WritePrivateFile(path, JsonSerializer.Serialize(created, HubJsonContext.Default.DevelopmentKeyFile));
                LogCreatedKeyFile(logger, path);
            }

            var file = JsonSerializer.Deserialize(File.ReadAllText(path), HubJsonContext.Default.DevelopmentKeyFile)
                ?? throw new InvalidOperationException($"{path} is not a valid key file.");
            options.Keys = new Dictionary<string, string>(file.Keys, StringComparer.Ordinal);
            options.ActiveKeyId ??= file.ActiveKeyId;
        }
    }

    public void PostConfigure(string? name, AdminOptions options)
    {
        if (!environment.IsDevelopment() || !string.IsNullOrEmpty(options.ApiKey))
        {
            return;
        }

        var path = data.Combine("admin-key.txt");
        lock (FileLock)
        {
            if (!File.Exists(path))
            {
                var key = Secret.Generate("hub_admin_");
                WritePrivateFile(path, key.Reveal());
                // Printed once, to the console only: logs and telemetry never carry it.
                Console.WriteLine($"Generated the Development admin key (stored in {path}; shown only now):{Environment.NewLine}  {key.Reveal()}");
            }
            else
            {
                LogUsingAdminKeyFile(logger, path);
            }

            options.ApiKey = File.ReadAllText(path).Trim();
        }
    }

    private static void WritePrivateFile(string path, string content)
    {
        File.WriteAllText(path, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Development: created an encryption key file at {Path}. Outside Development configure Hub:Encryption:Keys and Hub:Encryption:ActiveKeyId instead.")]
    private static partial void LogCreatedKeyFile(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Development: using the admin key stored in {Path}.")]
    private static partial void LogUsingAdminKeyFile(ILogger logger, string path);
}

internal sealed record DevelopmentKeyFile(string ActiveKeyId, Dictionary<string, string> Keys);
