using System.CommandLine;
using PromiseGrid.Mesh.Identity;
using PromiseGrid.Mesh.Kernel;
using PromiseGrid.Mesh.Ports;

namespace PromiseGrid.Mesh.Cli.Commands;

/// <summary>
/// <c>pgnode port serve --name NAME</c>: runs a node with one port published as NAME, prints
/// <c>port</c> (its reference and the node's addresses) and then one <c>message</c> line per
/// message received, in receive order; with <c>--reply</c> answers every request on its reply
/// port with the request's own payload and id. Stops cleanly on SIGINT/SIGTERM.
/// </summary>
internal static class PortServeCommand
{
    /// <summary>Replies in flight at once before the receive loop waits for the oldest.</summary>
    private const int ReplyWindow = 1024;

    /// <summary>Time allowed for one reply to be acknowledged by the requester's node.</summary>
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Name the port is published under.", Required = true };
        var listen = new Option<string[]>("--listen", "-l")
        {
            Description = $"Listen multiaddr (repeatable; default {Defaults.ListenAddress}).",
        };
        var key = CommonOptions.Key($"Identity key file (default {Defaults.KeyFile}).");
        var reply = new Option<bool>("--reply") { Description = "Answer every request (a message with a reply port) with its own payload and id." };
        var qlimit = new Option<int>("--qlimit")
        {
            Description = $"Queue limit of the port (0 to {PortKernelOptions.Default.MaxQueueLimit}; default {PortKernelOptions.Default.DefaultQueueLimit}).",
            DefaultValueFactory = _ => PortKernelOptions.Default.DefaultQueueLimit,
        };
        var quiet = new Option<bool>("--quiet") { Description = "Print no line per message (for load tests); the final 'stopped' line still counts them." };
        var command = new Command("serve", "Run a node with one published port and print every message it receives.") { name, listen, key, reply, qlimit, quiet };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = CommonOptions.Output(parse);
            return CliErrors.RunAsync(output, async () =>
            {
                var serviceName = parse.GetValue(name)!;
                var limit = parse.GetValue(qlimit);
                if (limit < 0 || limit > PortKernelOptions.Default.MaxQueueLimit)
                {
                    throw new CliUsageException($"--qlimit must be between 0 and {PortKernelOptions.Default.MaxQueueLimit}");
                }

                var addresses = (parse.GetValue(listen) is { Length: > 0 } given ? given : [Defaults.ListenAddress])
                    .Select(a => CommonOptions.ParseAddress(a, requirePeerId: false))
                    .ToList();
                using var identity = IdentityKeyPair.LoadOrCreate(parse.GetValue(key) ?? Defaults.KeyFile);
                using var loggerFactory = CommonOptions.Logging(parse);
                using var stop = CommonOptions.CancelOnSignals(cancellationToken, out var signals);
                using (signals)
                {
                    var node = await PortCommand.StartNodeAsync(identity, addresses, loggerFactory, stop.Token);
                    await using (node)
                    {
                        var task = node.Kernel.CreateTask("serve");
                        await using (task)
                        {
                            // Quiet, the loop between two receives only counts and replies (it never
                            // blocks on output), so it may run on the read loop that delivered.
                            task.ResumeReceivesInline = parse.GetValue(quiet);
                            var port = task.CreatePort();
                            task.SetQueueLimit(port, limit);
                            node.Ports.Publish(task, port, serviceName);
                            var portRef = node.Ports.GetPortRef(task, port).ToString();
                            var advertised = node.Host.ListenAddresses.Select(a => a.WithPeerId(node.PeerId).ToString()).ToList();
                            output.Event("port", new Dictionary<string, object?>
                            {
                                ["ref"] = portRef,
                                ["name"] = serviceName,
                                ["addrs"] = advertised,
                            }, $"port {portRef} published as '{serviceName}'\n" + string.Join('\n', advertised.Select(a => "listening on " + a)));

                            var received = await ServeAsync(task, port, parse.GetValue(reply), parse.GetValue(quiet) ? null : output, output, stop.Token);
                            output.Event("stopped", new Dictionary<string, object?> { ["received"] = received }, $"stopped after {received} message(s)");
                        }
                    }

                    return 0;
                }
            });
        });
        return command;
    }

    /// <summary>Receives until cancelled, printing each message to <paramref name="messages"/> unless it is null; returns how many arrived.</summary>
    private static async Task<long> ServeAsync(PortTask task, PortName port, bool reply, CliOutput? messages, CliOutput output, CancellationToken cancellationToken)
    {
        long received = 0;

        // Replies in flight, in receive order. Their acknowledgements are collected when seen
        // complete (or when the window is full), so an acknowledgement wakes no thread here.
        var replies = new Queue<(ValueTask Send, int Id)>();
        try
        {
            while (true)
            {
                using var message = await task.ReceiveMessageAsync(port, timeout: null, cancellationToken);
                received++;
                if (messages is not null)
                {
                    Print(messages, message);
                }

                if (reply && message.ReplyDisposition == PortDisposition.PortSendOnce)
                {
                    replies.Enqueue((SendReply(task, message, cancellationToken), message.MessageId));
                    while (replies.Count > 0 && (replies.Count >= ReplyWindow || replies.Peek().Send.IsCompleted))
                    {
                        var (send, id) = replies.Dequeue();
                        await CollectReplyAsync(send, id, output, cancellationToken);
                    }
                }
                else
                {
                    ReleaseCarriedRights(task, message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGINT/SIGTERM: stop receiving.
        }
        finally
        {
            while (replies.Count > 0)
            {
                var (send, id) = replies.Dequeue();
                await CollectReplyAsync(send, id, output, cancellationToken);
            }
        }

        return received;
    }

    private static void Print(CliOutput output, PortMessage message)
    {
        var trailer = message.Trailer;
        var from = trailer.SenderNode?.ToString();
        var text = PortCommand.PayloadText(message.Payload.Span);
        var fields = new Dictionary<string, object?>
        {
            ["seq"] = trailer.Sequence,
            ["id"] = message.MessageId,
            ["size"] = message.Payload.Length,
            ["from"] = from,
        };
        if (text is not null)
        {
            fields["text"] = text;
        }

        output.Event("message", fields, $"#{trailer.Sequence} id={message.MessageId} {message.Payload.Length} B from {from}" + (text is null ? string.Empty : $": {text}"));
    }

    /// <summary>Sends the request's payload and id back on its send-once reply right.</summary>
    private static ValueTask SendReply(PortTask task, PortMessage request, CancellationToken cancellationToken)
    {
        var answer = new PortMessage
        {
            Destination = request.ReplyPort,
            DestinationDisposition = PortDisposition.MoveSendOnce,
            MessageId = request.MessageId,
            Payload = request.Payload.ToArray(),
        };
        try
        {
            return task.SendMessageAsync(answer, ReplyTimeout, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>Waits for a reply's outcome; a failed reply prints one <c>reply:error</c> line.</summary>
    private static async ValueTask CollectReplyAsync(ValueTask send, int id, CliOutput output, CancellationToken cancellationToken)
    {
        try
        {
            await send;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (MeshException e)
        {
            output.Event("reply:error", new Dictionary<string, object?>
            {
                ["id"] = id,
                ["error"] = e.GetType().Name,
                ["message"] = e.Message,
            }, $"reply to id={id} failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Deallocates the rights a message carried that nobody will use, so they do not pile up in the name space.</summary>
    private static void ReleaseCarriedRights(PortTask task, PortMessage message)
    {
        try
        {
            if (!message.ReplyPort.IsNull && message.ReplyPort != PortName.Dead)
            {
                task.Deallocate(message.ReplyPort);
            }

            foreach (var descriptor in message.Ports ?? [])
            {
                if (!descriptor.Name.IsNull && descriptor.Name != PortName.Dead)
                {
                    task.Deallocate(descriptor.Name);
                }
            }
        }
        catch (MeshException)
        {
            // Already gone (e.g. the right died meanwhile): nothing to release.
        }
    }
}
