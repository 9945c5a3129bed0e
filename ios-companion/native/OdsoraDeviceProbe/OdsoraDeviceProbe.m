// OdsoraDeviceProbe: what the companion needs from iOS that no library gives it.
//   memory()        -> { availableBytes: os_proc_available_memory(), footprintBytes: phys_footprint (task_info) }
//   thermalState()  -> "nominal" | "fair" | "serious" | "critical" (NSProcessInfo.thermalState)
//   randomBytesBase64(n) (synchronous) -> n bytes from SecRandomCopyBytes, base64 (pairing codes and keys)
// Typed wrapper: ios-companion/src/native/device-probe.ts. A legacy (bridge) module: React Native's interop
// layer serves it under the new architecture.
#import <Foundation/Foundation.h>
#import <React/RCTBridgeModule.h>
#import <Security/Security.h>
#import <mach/mach.h>
#import <os/proc.h>

@interface OdsoraDeviceProbe : NSObject <RCTBridgeModule>
@end

@implementation OdsoraDeviceProbe

RCT_EXPORT_MODULE();

+ (BOOL)requiresMainQueueSetup
{
  return NO;
}

RCT_EXPORT_METHOD(memory : (RCTPromiseResolveBlock)resolve rejecter : (RCTPromiseRejectBlock)reject)
{
  // Bytes this process may still allocate before jetsam ends it (iOS 13+; 0 in the simulator).
  size_t available = os_proc_available_memory();
  task_vm_info_data_t info;
  mach_msg_type_number_t count = TASK_VM_INFO_COUNT;
  kern_return_t kr = task_info(mach_task_self(), TASK_VM_INFO, (task_info_t)&info, &count);
  if (kr != KERN_SUCCESS) {
    reject(@"task_info", [NSString stringWithFormat:@"task_info(TASK_VM_INFO) failed: %d", kr], nil);
    return;
  }
  // phys_footprint is the number jetsam compares against the app's limit (what Xcode's memory gauge shows).
  resolve(@{
    @"availableBytes" : @((double)available),
    @"footprintBytes" : @((double)info.phys_footprint),
  });
}

RCT_EXPORT_METHOD(thermalState : (RCTPromiseResolveBlock)resolve rejecter : (RCTPromiseRejectBlock)reject)
{
  switch ([NSProcessInfo processInfo].thermalState) {
    case NSProcessInfoThermalStateNominal:
      resolve(@"nominal");
      return;
    case NSProcessInfoThermalStateFair:
      resolve(@"fair");
      return;
    case NSProcessInfoThermalStateSerious:
      resolve(@"serious");
      return;
    case NSProcessInfoThermalStateCritical:
      resolve(@"critical");
      return;
  }
  resolve([NSNull null]);
}

RCT_EXPORT_BLOCKING_SYNCHRONOUS_METHOD(randomBytesBase64 : (nonnull NSNumber *)length)
{
  NSUInteger n = length.unsignedIntegerValue;
  if (n == 0 || n > 65536) {
    return [NSNull null];
  }
  NSMutableData *data = [NSMutableData dataWithLength:n];
  if (SecRandomCopyBytes(kSecRandomDefault, n, data.mutableBytes) != errSecSuccess) {
    return [NSNull null];
  }
  return [data base64EncodedStringWithOptions:0];
}

@end
