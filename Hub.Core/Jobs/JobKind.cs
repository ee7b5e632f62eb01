using Hub.Core.Storage;

namespace Hub.Core.Jobs;

/// <summary>Job ids, <c>job_</c> and 20 lowercase letters and digits; <c>JobId</c> is <c>Id&lt;JobKind&gt;</c>.</summary>
public abstract class JobKind : IIdKind
{
    public static string Prefix => "job_";

    public static string Noun => "job";
}
